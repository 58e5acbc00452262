-- Account changes seen between two complete listings of an app (inferred, dated as_of).
SELECT
    NULL AS native_id,
    concat_ws('|', 'inferred', 'accounts', app, account_id, action, $as_of_text) AS identity,
    'snapshot:accounts' AS native_type, $as_of AS occurred_at, action, 'success' AS outcome,
    NULL AS actor, NULL AS person_id, app, account_id, NULL AS entitlement,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text)::VARCHAR,
    json_object('before', before, 'after', after)::VARCHAR,
    true
FROM (
    SELECT
        coalesce(n.app, c.app) AS app,
        coalesce(n.account_id, c.account_id) AS account_id,
        CASE
            WHEN c.account_id IS NULL THEN 'account.create'
            WHEN n.account_id IS NULL THEN 'account.delete'
            WHEN coalesce(c.active, true) AND NOT coalesce(n.active, true) THEN 'account.deactivate'
            WHEN NOT coalesce(c.active, true) AND coalesce(n.active, true) THEN 'account.activate'
            ELSE 'account.update'
        END AS action,
        CASE WHEN c.account_id IS NULL THEN NULL ELSE json_object(
            'user_name', c.user_name, 'email', c.email, 'active', c.active) END AS before,
        CASE WHEN n.account_id IS NULL THEN NULL ELSE json_object(
            'user_name', n.user_name, 'email', n.email, 'active', n.active) END AS after
    FROM _opened n
    FULL OUTER JOIN _closed c ON n.app = c.app AND n.account_id = c.account_id
)
