-- IdP app assignments that appeared or vanished between two complete listings (inferred).
SELECT
    NULL, concat_ws('|', 'inferred', 'assignments', app, idp_user_id, action, $as_of_text),
    'snapshot:assignments', $as_of, action, 'success', NULL, idp_user_id, app, NULL, NULL,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text,
                'user_name', user_name)::VARCHAR,
    NULL, true
FROM (
    SELECT
        coalesce(n.app, c.app) AS app,
        coalesce(n.idp_user_id, c.idp_user_id) AS idp_user_id,
        coalesce(n.user_name, c.user_name) AS user_name,
        CASE WHEN c.idp_user_id IS NULL THEN 'app.assign'
             WHEN n.idp_user_id IS NULL THEN 'app.unassign' END AS action
    FROM _opened n
    FULL OUTER JOIN _closed c ON n.app = c.app AND n.idp_user_id = c.idp_user_id
)
WHERE action IS NOT NULL
