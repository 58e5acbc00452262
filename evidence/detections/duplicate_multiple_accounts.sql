-- id: duplicate_multiple_accounts
-- kind: duplicate
-- subkind: multiple_accounts
-- severity: medium
-- controls: 164.312(a)(2)(i), A.5.16
-- parameters: grace_hours, service_accounts
-- description: A person holds more than one active account in the same app; one finding per account.
-- Owned service accounts are not a person's accounts, and neither is an orphan (unmatched, or
-- its owner terminated past the grace period: it is reported as orphan, it has no living owner).
-- A person is the matcher's person_id (a rehire's records are one person).
WITH held AS (
    SELECT o.app, o.account_id, o.user_name, o.person_id, o.person_kind, o.person_status,
           o.matched_by, o.email, o.external_id, o.valid_from, o.created_at
    FROM account_facts o
    WHERE o.active
      AND NOT o.service_account
      AND o.person_id IS NOT NULL
      AND NOT (o.person_status = 'terminated'
               AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now)
),
-- The (app, person) pairs with more than one account first: evidence is built for those only.
multi AS (
    SELECT app, person_id FROM held GROUP BY ALL HAVING count(*) > 1
),
grouped AS (
    SELECT h.app, h.person_id, count(*) AS n,
           list(json_object('account_id', h.account_id, 'user_name', h.user_name,
                            'email', h.email, 'external_id', h.external_id,
                            'matched_by', h.matched_by, 'valid_from', h.valid_from,
                            'created_at', h.created_at)
                ORDER BY h.user_name, h.account_id) AS accounts,
           string_agg(h.user_name, ', ' ORDER BY h.user_name, h.account_id) AS names
    FROM held h JOIN multi m USING (app, person_id)
    GROUP BY ALL
),
dup AS (
    SELECT h.*, g.n, g.accounts, g.names
    FROM held h JOIN grouped g USING (app, person_id)
)
SELECT
    o.app,
    o.account_id,
    o.user_name AS account,
    o.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} is one of {} active accounts held by person {} in that app ({}).',
           o.user_name, o.app, o.n, o.person_id, o.names) AS explanation,
    json_object(
-- include: drift_unassigned_account.sql account_evidence
        'accounts', o.accounts
    ) AS evidence
FROM dup o
WHERE o.n > 1
