-- id: creep_privilege_accumulation
-- kind: creep
-- subkind: privilege_accumulation
-- severity: high
-- controls: CC6.3, A.5.15, A.8.2
-- parameters: privileged, privilege_window_days, privilege_growth_max
-- description: An account gained more than privilege_growth_max privileged entitlements in privilege_window_days.
-- One finding per account (entitlement empty), on every active account (owned, orphaned,
-- unmatched or service), reported alongside the per-entitlement creep findings.
-- Privileged = the entitlement matches a policy.privileged glob (case-blind) under the policy
-- of this run, so a policy change applies at once (grants.privileged was computed at sync time).
-- Gained = the current continuous holding began inside the window, with held-since as in
-- expired_grant (the source-reported grant event, else the first snapshot that showed it).
-- A grant already present in the very first listing of its source scope (source, app) with no
-- grant event is NOT counted as gained: the first sync observes everything "now", and we do not
-- know when it was granted. Such grants are listed in the evidence as held, of unknown start.
-- Held-since and the role/peer facts come from evidence/detections/sql/creep_holdings.sql
-- (temp tables _held and _creep_judged, built once per run by the runner).
WITH
-- The distinct entitlements are few: globbing them against the patterns is cheap.
privileged_ents AS (
    SELECT DISTINCT e.ent_key
    FROM (SELECT DISTINCT lower(entitlement) AS ent_key FROM _held) e
    JOIN _privileged p ON e.ent_key GLOB p.pattern
),
priv AS (
    SELECT h.*,
           h.since_basis <> 'first listing of the source'
           AND h.since >= $now - to_days(CAST($privilege_window_days AS INTEGER)) AS gained
    FROM _held h
    JOIN privileged_ents p ON p.ent_key = lower(h.entitlement)
),
acc AS (
    SELECT app, account_id,
           any_value(user_name) AS user_name, any_value(person_id) AS person_id,
           any_value(person_kind) AS person_kind, any_value(person_status) AS person_status,
           any_value(matched_by) AS matched_by, any_value(service_account) AS service_account,
           count(*) FILTER (WHERE gained) AS n_gained,
           count(*) AS n_privileged,
           list(entitlement ORDER BY since, entitlement) FILTER (WHERE gained) AS gained_names,
           list(json_object('entitlement', entitlement, 'entitlement_type', entitlement_type,
                            'source', source, 'valid_from', since_snapshot,
                            'held_since', since, 'held_since_basis', since_basis,
                            'gained_in_window', gained, 'expires_at', expires_at,
                            'events', list_filter([add_event, remove_event],
                                                  lambda x: x IS NOT NULL))
                ORDER BY entitlement) AS grants
    FROM priv
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE gained) > $privilege_growth_max
)
SELECT
    a.app,
    a.account_id,
    a.user_name AS account,
    a.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} gained {} privileged entitlements in the last {} days ({}), '
           || 'more than the {} allowed.',
           a.user_name, a.app, a.n_gained, $privilege_window_days,
           array_to_string(a.gained_names, ', '), $privilege_growth_max) AS explanation,
    json_object(
        'person', json_object('person_id', a.person_id, 'kind', a.person_kind,
                              'status', a.person_status),
        'account', json_object('app', a.app, 'account_id', a.account_id,
                               'user_name', a.user_name, 'matched_by', a.matched_by,
                               'service_account', a.service_account),
        'grants', a.grants,
        'gained', a.n_gained,
        'privileged_held', a.n_privileged,
        'privilege_window_days', $privilege_window_days,
        'privilege_growth_max', $privilege_growth_max,
        'privileged_patterns', (SELECT list(pattern ORDER BY pattern) FROM _privileged)
    ) AS evidence
FROM acc a
