-- id: sod_toxic_combination
-- kind: sod
-- subkind: toxic_combination
-- severity: high
-- controls: CC6.3, A.5.3
-- parameters: sod
-- description: A person holds both sides of a policy.sod rule (possibly across apps); one finding per person and rule.
-- Holdings are the current grants of the person's active accounts (owned service accounts
-- excluded: they are not the person's own access); app and entitlement compare case-blind.
-- Reported alongside any account-level finding. `account` is the account holding side a (the
-- first by user name if several do); every account holding either side is in the evidence.
WITH
-- Only grants some rule names (either side): the rules are few, the grants many.
ruled AS (
    SELECT lower(a_app) AS app_key, lower(trim(a_entitlement)) AS ent_key FROM _sod_rules
    UNION
    SELECT lower(b_app), lower(trim(b_entitlement)) FROM _sod_rules
),
held AS (
    SELECT DISTINCT o.person_id, o.person_kind, o.person_status, o.app, o.account_id,
           o.user_name, g.entitlement, g.valid_from AS granted_at
    FROM grants g
    JOIN ruled r ON r.app_key = lower(g.app) AND r.ent_key = lower(trim(g.entitlement))
    JOIN account_owners o ON o.app = g.app AND o.account_id = g.account_id
    WHERE g.valid_to IS NULL
      AND o.active
      AND NOT o.service_account
      AND o.person_id IS NOT NULL
),
sides AS (
    SELECT r.name, 'a' AS side, h.*
    FROM _sod_rules r JOIN held h
      ON lower(h.app) = lower(r.a_app) AND lower(trim(h.entitlement)) = lower(trim(r.a_entitlement))
    UNION ALL
    SELECT r.name, 'b' AS side, h.*
    FROM _sod_rules r JOIN held h
      ON lower(h.app) = lower(r.b_app) AND lower(trim(h.entitlement)) = lower(trim(r.b_entitlement))
),
hits AS (
    SELECT name, person_id,
           any_value(person_kind) AS person_kind, any_value(person_status) AS person_status,
           arg_min(app, [user_name, account_id]) FILTER (WHERE side = 'a') AS app,
           arg_min(account_id, [user_name, account_id]) FILTER (WHERE side = 'a') AS account_id,
           min(user_name) FILTER (WHERE side = 'a') AS user_name,
           arg_min(app || ' ' || entitlement, [user_name, account_id]) FILTER (WHERE side = 'a') AS a_text,
           arg_min(app || ' ' || entitlement || ' (account ' || user_name || ')',
                   [user_name, account_id]) FILTER (WHERE side = 'b') AS b_text,
           list(json_object('side', side, 'app', app, 'account_id', account_id,
                            'user_name', user_name, 'entitlement', entitlement,
                            'valid_from', granted_at)
                ORDER BY side, app, user_name, account_id, entitlement) AS grants
    FROM sides
    GROUP BY name, person_id
    HAVING count(*) FILTER (WHERE side = 'a') > 0 AND count(*) FILTER (WHERE side = 'b') > 0
)
SELECT
    h.app,
    h.account_id,
    h.user_name AS account,
    h.person_id,
    NULL AS entitlement,
    h.name AS rule,
    format('Person {} holds {} (account {}) and {}, a combination forbidden by rule {}.',
           h.person_id, h.a_text, h.user_name, h.b_text, h.name) AS explanation,
    json_object(
        'rule', (SELECT json_object('name', r.name,
                                    'a', json_object('app', r.a_app, 'entitlement', r.a_entitlement),
                                    'b', json_object('app', r.b_app, 'entitlement', r.b_entitlement))
                 FROM _sod_rules r WHERE r.name = h.name LIMIT 1),
        'person', json_object('person_id', h.person_id, 'kind', h.person_kind,
                              'status', h.person_status),
        'grants', h.grants
    ) AS evidence
FROM hits h
