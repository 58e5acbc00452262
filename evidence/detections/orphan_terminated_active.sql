-- id: orphan_terminated_active
-- kind: orphan
-- subkind: terminated_active
-- severity: high
-- controls: CC6.1, CC6.2, A.5.16, A.5.18, A.6.5, 164.308(a)(3)(ii)(C), 164.312(a)(2)(i)
-- parameters: grace_hours
-- description: An active app account whose owner is terminated, past the grace period.
SELECT
    o.app,
    o.account_id,
    o.user_name AS account,
    o.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} is still active {} days after its owner {} was terminated on {}.',
           o.user_name, o.app,
           date_diff('day', o.termination_at, $now),
           o.person_id, strftime(timezone('UTC', o.termination_at), '%Y-%m-%d')) AS explanation,
    json_object(
        'account', json_object('app', o.app, 'account_id', o.account_id,
                               'user_name', o.user_name, 'active', o.active,
                               'valid_from', o.valid_from, 'email', o.email,
                               'external_id', o.external_id),
        'person', json_object('person_id', o.person_id, 'kind', o.person_kind,
                              'status', o.person_status, 'termination_at', o.termination_at),
        'matched_by', o.matched_by,
        'grace_hours', $grace_hours
    ) AS evidence
FROM account_facts o
WHERE o.active
  AND NOT o.service_account
  AND o.person_status = 'terminated'
  AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now
