-- id: drift_group_mismatch
-- kind: drift
-- subkind: group_mismatch
-- severity: medium
-- controls: CC6.2, CC6.3, A.5.15, A.5.18
-- parameters: grace_hours, service_accounts
-- description: For an app group the IdP pushes, an active account's membership differs from the IdP group's.
-- Pushed groups are the IdP's current push mappings (Okta group push; Entra groups assigned to
-- the app), the app group named case-blind. An account should be in the app group when an IdP
-- user it stands for (_account_idp) is a current member of an IdP group pushed to it. One
-- finding per (account, app group): a member the IdP does not have, or a missing member.
-- Owned service accounts and orphans are not reported.
WITH push AS (
    SELECT DISTINCT lower(p.app) AS app_key, lower(trim(p.target_group_name)) AS group_key,
           p.group_id, p.target_group_name, p.source
    FROM group_push p WHERE p.valid_to IS NULL
),
pushed AS (
    SELECT app_key, group_key, min(target_group_name) AS target_group_name,
           list(DISTINCT group_id ORDER BY group_id) AS idp_group_ids,
           min(source) AS idp_source
    FROM push GROUP BY ALL
),
judged AS (
    SELECT o.app, lower(o.app) AS app_key, o.account_id, o.user_name, o.person_id,
           o.person_kind, o.person_status, o.matched_by
    FROM account_owners o
    WHERE o.active
      AND NOT o.service_account
      AND o.matched_by <> 'none'
      AND NOT coalesce(
          o.person_status = 'terminated'
          AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now,
          false)
),
-- (account, app group) pairs where the app says member. Each join below is keyed on the
-- group as well as the app, so no account is paired with every group of its app.
app_side AS (
    SELECT g.app, g.account_id, p.group_key, min(g.entitlement) AS entitlement,
           min(g.valid_from) AS member_since
    FROM grants g
    JOIN pushed p ON p.app_key = lower(g.app) AND p.group_key = lower(trim(g.entitlement))
    WHERE g.valid_to IS NULL
    GROUP BY ALL
),
-- (account, app group) pairs where the IdP says member.
idp_side AS (
    SELECT DISTINCT l.app, l.account_id, p.group_key
    FROM _account_idp l
    JOIN idp_group_members m ON m.user_id = l.user_id AND m.valid_to IS NULL
    JOIN push p ON p.group_id = m.group_id AND p.app_key = l.app_key
),
diff AS (
    SELECT coalesce(a.app, i.app) AS app, coalesce(a.account_id, i.account_id) AS account_id,
           coalesce(a.group_key, i.group_key) AS group_key,
           a.entitlement, a.member_since,
           a.account_id IS NOT NULL AS in_app
    FROM app_side a
    FULL JOIN idp_side i USING (app, account_id, group_key)
    WHERE a.account_id IS NULL OR i.account_id IS NULL
),
-- Evidence for the differing pairs only: the IdP memberships that make them members, and the
-- owners (semi-joins build on the few differing pairs, not on every account).
members AS (
    SELECT d.app, d.account_id, d.group_key,
           list(DISTINCT json_object('group_id', m.group_id, 'user_id', m.user_id,
                                     'member_since', m.valid_from)) AS members
    FROM diff d
    JOIN _account_idp l ON l.app = d.app AND l.account_id = d.account_id
    JOIN idp_group_members m ON m.user_id = l.user_id AND m.valid_to IS NULL
    JOIN push p ON p.group_id = m.group_id AND p.app_key = l.app_key AND p.group_key = d.group_key
    WHERE NOT d.in_app
    GROUP BY ALL
),
owners AS (
    SELECT j.* FROM judged j SEMI JOIN diff d ON d.app = j.app AND d.account_id = j.account_id
)
SELECT
    d.app,
    d.account_id,
    j.user_name AS account,
    j.person_id,
    coalesce(d.entitlement, p.target_group_name) AS entitlement,
    NULL AS rule,
    CASE WHEN d.in_app THEN
        format('Account {} is a member of {} group {}, which the IdP pushes, but the IdP group has no member it stands for.',
               j.user_name, d.app, coalesce(d.entitlement, p.target_group_name))
    ELSE
        format('Account {} is not a member of {} group {}, although the IdP pushes that group and its IdP group holds the account''s user.',
               j.user_name, d.app, p.target_group_name)
    END AS explanation,
    json_object(
        'account', json_object('app', d.app, 'account_id', d.account_id,
                               'user_name', j.user_name),
        'person', json_object('person_id', j.person_id, 'kind', j.person_kind,
                              'status', j.person_status),
        'matched_by', j.matched_by,
        'push', json_object('source', p.idp_source, 'target_group_name', p.target_group_name,
                            'idp_group_ids', p.idp_group_ids),
        'app_member', d.in_app,
        'app_member_since', d.member_since,
        'idp_members', coalesce(mm.members, [])
    ) AS evidence
FROM diff d
JOIN owners j ON j.app = d.app AND j.account_id = d.account_id
JOIN pushed p ON p.app_key = j.app_key AND p.group_key = d.group_key
LEFT JOIN members mm ON mm.app = d.app AND mm.account_id = d.account_id
                    AND mm.group_key = d.group_key
