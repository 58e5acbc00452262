-- id: drift_missing_account
-- kind: drift
-- subkind: missing_account
-- severity: medium
-- controls: CC6.2, CC6.3, A.5.18
-- parameters: grace_hours
-- description: The IdP assigns a person to an app, past the grace period, and the app has no active account for them.
-- Desired state is the IdP's current assignments (Okta app users, Entra app role assignments).
-- An assignment the IdP itself marks INACTIVE or DEPROVISIONED, or whose IdP user's
-- lifecycle is deprovisioned or deleted (Okta DEPROVISIONED, Entra accountEnabled false or
-- soft-deleted) or who is gone from a complete listing, wants no access. An app account fulfils an assignment when it stands for the
-- assigned IdP user (_account_idp: externalId, same person, or the assigned user name). Only
-- apps whose accounts some source lists are judged. `account` is the user name the IdP assigns.
WITH asg AS (
    SELECT * FROM _desired_assignments
    WHERE assigned_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now
),
-- Assigned IdP users with an active account standing for them: no evidence needed.
fulfilled AS (
    SELECT DISTINCT l.app_key, l.user_id FROM _account_idp l WHERE l.active
),
missing AS (
    SELECT s.* FROM asg s
    ANTI JOIN fulfilled f ON f.app_key = s.app_key AND f.user_id = s.idp_user_id
),
-- Evidence for the missing ones only: the inactive accounts that stand for them, if any.
found AS (
    SELECT app_key, user_id,
           list(json_object('account_id', account_id, 'user_name', user_name,
                            'active', active, 'linked_by', via)
                ORDER BY account_id) AS accounts
    FROM (
        SELECT l.app_key, l.user_id, a.account_id, a.user_name,
               coalesce(a.active, false) AS active, l.via
        FROM missing m
        JOIN _account_idp l ON l.app_key = m.app_key AND l.user_id = m.idp_user_id
        JOIN account_facts a ON a.app = l.app AND a.account_id = l.account_id AND a.is_current
    )
    GROUP BY ALL
)
SELECT
    n.app,
    NULL AS account_id,
    coalesce(s.user_name, s.idp_login, s.idp_user_id) AS account,
    s.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('{} is assigned to {} in the IdP since {} (grace {} h), but {}.',
           coalesce(s.user_name, s.idp_login, s.idp_user_id), n.app,
           strftime(timezone('UTC', s.assigned_at), '%Y-%m-%d'), $grace_hours,
           CASE WHEN f.user_id IS NULL THEN 'the app lists no account for them'
                ELSE 'their account in the app is not active' END) AS explanation,
    json_object(
        'assignment', json_object('source', s.source, 'app', s.idp_app,
                                  'idp_user_id', s.idp_user_id, 'user_name', s.user_name,
                                  'status', s.status, 'scope', s.scope, 'groups', s.groups,
                                  'assigned_at', s.assigned_at, 'valid_from', s.valid_from),
        'idp_user', json_object('user_id', s.idp_user_id, 'login', s.idp_login,
                                'status', s.idp_status, 'lifecycle', s.idp_lifecycle),
        'person_id', s.person_id,
        'app_accounts', coalesce(f.accounts, []),
        'grace_hours', $grace_hours
    ) AS evidence
FROM missing s
JOIN _app_names n ON n.app_key = s.app_key
LEFT JOIN found f ON f.app_key = s.app_key AND f.user_id = s.idp_user_id
