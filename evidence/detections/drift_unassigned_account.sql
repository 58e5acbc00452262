-- id: drift_unassigned_account
-- kind: drift
-- subkind: unassigned_account
-- severity: medium
-- controls: CC6.2, CC6.3, A.5.18
-- parameters: grace_hours, service_accounts
-- description: An active account in an IdP-managed app that no current IdP assignment stands for.
-- An app is IdP-managed when the IdP currently assigns someone to it (matched case-blind by
-- name). The account stands for an assignment when it stands for the assigned IdP user
-- (_account_idp). Not reported: owned service accounts and orphans (unmatched, or owner
-- terminated past the grace period), which are reported as orphans.
WITH managed AS (
    SELECT lower(app) AS app_key, min(app) AS idp_app, min(source) AS idp_source
    FROM assignments WHERE valid_to IS NULL GROUP BY 1
),
assigned AS (SELECT * FROM _assigned_accounts)
SELECT
    o.app,
    o.account_id,
    o.user_name AS account,
    o.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} is active, but {} has no current assignment of {} for its owner {}.',
           o.user_name, o.app, m.idp_source, m.idp_app, o.person_id) AS explanation,
    json_object(
-- shared: account_evidence
-- The account and its owner as the evidence of a finding on one account of `o`
-- (duplicate_multiple_accounts.sql includes these lines).
        'account', json_object('app', o.app, 'account_id', o.account_id,
                               'user_name', o.user_name, 'email', o.email,
                               'external_id', o.external_id, 'valid_from', o.valid_from),
        'person', json_object('person_id', o.person_id, 'kind', o.person_kind,
                              'status', o.person_status),
        'matched_by', o.matched_by,
-- end shared: account_evidence
        'idp_users', (SELECT coalesce(list(DISTINCT l.user_id ORDER BY l.user_id), [])
                      FROM _account_idp l
                      WHERE l.app = o.app AND l.account_id = o.account_id),
        'idp', json_object('source', m.idp_source, 'app', m.idp_app)
    ) AS evidence
FROM account_facts o
JOIN managed m ON m.app_key = lower(o.app)
LEFT JOIN assigned s ON s.app = o.app AND s.account_id = o.account_id
WHERE o.active
  AND s.account_id IS NULL
  AND NOT o.service_account
  AND o.matched_by <> 'none'
  AND NOT coalesce(
      o.person_status = 'terminated'
      AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now,
      false)
