-- Entitlements that appeared or vanished between two complete listings (inferred).
SELECT
    NULL, concat_ws('|', 'inferred', 'grants', app, account_id, entitlement, action, $as_of_text),
    'snapshot:grants', $as_of, action, 'success', NULL, NULL, app, account_id, entitlement,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text,
                'entitlement_type', entitlement_type)::VARCHAR,
    NULL, true
FROM (
    SELECT
        coalesce(n.app, c.app) AS app,
        coalesce(n.account_id, c.account_id) AS account_id,
        coalesce(n.entitlement, c.entitlement) AS entitlement,
        coalesce(n.entitlement_type, c.entitlement_type) AS entitlement_type,
        CASE
            WHEN c.entitlement IS NULL AND n.entitlement_type = 'group' THEN 'group.member.add'
            WHEN c.entitlement IS NULL THEN 'privilege.grant'
            WHEN n.entitlement IS NULL AND c.entitlement_type = 'group' THEN 'group.member.remove'
            WHEN n.entitlement IS NULL THEN 'privilege.revoke'
        END AS action
    FROM _opened n
    FULL OUTER JOIN _closed c
        ON n.app = c.app AND n.account_id = c.account_id AND n.entitlement = c.entitlement
)
WHERE action IS NOT NULL
