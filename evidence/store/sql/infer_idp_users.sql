-- IdP user lifecycle seen between two complete listings (inferred).
SELECT
    NULL, concat_ws('|', 'inferred', 'idp_users', user_id, action, $as_of_text),
    'snapshot:idp_users', $as_of, action, 'success', NULL, user_id, NULL, NULL, NULL,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text,
                'status', json_object('from', old_status, 'to', new_status))::VARCHAR,
    NULL, true
FROM (
    SELECT
        coalesce(n.user_id, c.user_id) AS user_id,
        c.status AS old_status, n.status AS new_status,
        CASE
            WHEN c.user_id IS NULL THEN 'user.create'
            WHEN n.user_id IS NULL THEN 'user.delete'
            WHEN n.status = c.status THEN NULL
            WHEN n.status = 'DEPROVISIONED' THEN 'user.deactivate'
            WHEN n.status = 'SUSPENDED' THEN 'user.suspend'
            WHEN c.status = 'SUSPENDED' THEN 'user.unsuspend'
            WHEN c.status = 'DEPROVISIONED' THEN 'user.activate'
        END AS action
    FROM _opened n
    FULL OUTER JOIN _closed c ON n.user_id = c.user_id
)
WHERE action IS NOT NULL
