-- IdP user lifecycle seen between two complete listings (inferred), from the canonical
-- lifecycle so that every IdP's states give the same verbs; the vendor statuses go in details.
SELECT
    NULL, concat_ws('|', 'inferred', 'idp_users', user_id, action, $as_of_text),
    'snapshot:idp_users', $as_of, action, 'success', NULL, user_id, NULL, NULL, NULL,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text,
                'status', json_object('from', old_status, 'to', new_status),
                'lifecycle', json_object('from', old_lc, 'to', new_lc))::VARCHAR,
    NULL, true
FROM (
    SELECT
        coalesce(n.user_id, c.user_id) AS user_id,
        c.status AS old_status, n.status AS new_status,
        c.lifecycle AS old_lc, n.lifecycle AS new_lc,
        CASE
            WHEN c.user_id IS NULL THEN 'user.create'
            WHEN n.user_id IS NULL THEN 'user.delete'
            WHEN n.lifecycle IS NOT DISTINCT FROM c.lifecycle THEN NULL
            WHEN n.lifecycle = 'deleted' THEN 'user.delete'
            WHEN n.lifecycle = 'deprovisioned' THEN 'user.deactivate'
            WHEN n.lifecycle = 'suspended' THEN 'user.suspend'
            WHEN c.lifecycle = 'suspended' THEN 'user.unsuspend'
            WHEN c.lifecycle IN ('deprovisioned', 'deleted') THEN 'user.activate'
        END AS action
    FROM _opened n
    FULL OUTER JOIN _closed c ON n.user_id = c.user_id
)
WHERE action IS NOT NULL
