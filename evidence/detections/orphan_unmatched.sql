-- id: orphan_unmatched
-- kind: orphan
-- subkind: unmatched
-- severity: medium
-- controls: CC6.1, CC6.2, A.5.16, A.5.18, 164.312(a)(2)(i)
-- parameters:
-- description: An active app account that matches no person and is not an owned service account.
SELECT
    o.app,
    o.account_id,
    o.user_name AS account,
    NULL AS person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} is active but matches no HR record or IdP user by externalId, email, alias or login.',
           o.user_name, o.app) AS explanation,
    json_object(
        'account', json_object('app', o.app, 'account_id', o.account_id,
                               'user_name', o.user_name, 'email', o.email,
                               'external_id', o.external_id, 'active', o.active,
                               'valid_from', o.valid_from)
    ) AS evidence
FROM account_facts o
WHERE o.active
  AND NOT o.service_account
  AND o.matched_by = 'none'
