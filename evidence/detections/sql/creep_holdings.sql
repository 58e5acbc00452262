-- Shared by the creep detections, built once per detect run before the detections run:
--   _held          every current grant on an active account with the start of its current
--                  continuous holding (`since`, `since_basis`, the grant events)
--   _creep_judged  the grants of _held with at least one of the three per-entitlement
--                  verdicts is_mover, is_expired and is_outlier, joined to the holder's role,
--                  peers, move and time-bound limit
--   _creep_grant(j), _creep_grant_events(j)  macros: a row's grant and events as evidence
-- Parameters: now, mover_days, peer_outlier_pct, peer_min_group; temp table _time_bound.
CREATE OR REPLACE TEMP TABLE _held AS
WITH
-- Current grants, one per (app, account, entitlement): the earliest-listed source's when two
-- sources list the same grant (rare, so only those keys are ranked; a window over every
-- grant was the prelude's largest cost).
cur_all AS (
    SELECT g.source, g.app, g.account_id, g.entitlement, g.entitlement_type, g.expires_at,
           g.valid_from, o.user_name, o.person_id, o.person_kind, o.person_status,
           o.matched_by, o.service_account
    FROM account_owners o
    JOIN grants g ON g.app = o.app AND g.account_id = o.account_id AND g.valid_to IS NULL
    WHERE o.active
),
multi_source AS (
    SELECT app, account_id, entitlement FROM grants WHERE valid_to IS NULL
    GROUP BY ALL HAVING count(*) > 1
),
cur AS (
    SELECT * FROM cur_all ANTI JOIN multi_source USING (app, account_id, entitlement)
    UNION ALL
    SELECT * FROM cur_all SEMI JOIN multi_source USING (app, account_id, entitlement)
    QUALIFY row_number() OVER (
        PARTITION BY app, account_id, entitlement ORDER BY valid_from, source
    ) = 1
),
-- Start of the current continuous holding: the latest grant version not directly continuing
-- the one before it (a version opened by an attribute change continues its predecessor).
-- Only grants with a closed version have a predecessor; any other's holding starts at its
-- one version's valid_from.
with_history AS (
    SELECT DISTINCT source, app, account_id, entitlement FROM grants WHERE valid_to IS NOT NULL
),
holding AS (
    SELECT source, app, account_id, entitlement,
           max(valid_from) FILTER (WHERE prev_to IS DISTINCT FROM valid_from) AS since_snapshot
    FROM (
        SELECT g.source, g.app, g.account_id, g.entitlement, g.valid_from,
               lag(g.valid_to) OVER (
                   PARTITION BY g.source, g.app, g.account_id, g.entitlement ORDER BY g.valid_from
               ) AS prev_to
        FROM grants g SEMI JOIN with_history USING (source, app, account_id, entitlement)
    )
    GROUP BY ALL
),
scope_first AS (
    SELECT source, app, min(valid_from) AS first_listed FROM grants GROUP BY ALL
),
cur_h AS (
    SELECT c.*, coalesce(h.since_snapshot, c.valid_from) AS since_snapshot, f.first_listed,
           lower(c.app) AS app_key, lower(trim(c.entitlement)) AS ent_key
    FROM cur c
    LEFT JOIN holding h USING (source, app, account_id, entitlement)
    JOIN scope_first f USING (source, app)
),
-- Source-reported (not inferred) grant and removal events, successful, up to now.
grant_events AS (
    SELECT e.event_id, e.occurred_at, e.action, e.native_type, e.source AS event_source,
           lower(e.app) AS app_key, e.account_id, e.person_id AS event_person,
           lower(trim(e.entitlement)) AS ent_key,
           e.action IN ('group.member.add', 'privilege.grant') AS is_add
    FROM events e
    WHERE e.action IN ('group.member.add', 'group.member.remove',
                       'privilege.grant', 'privilege.revoke')
      AND NOT e.inferred
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.occurred_at <= $now
      AND e.app IS NOT NULL
      AND e.entitlement IS NOT NULL
),
-- Events reach a grant by its account, or (IdP events such as Okta group pushes, which name
-- the IdP user and not the app account) by the account's owner: the IdP user's HR person, or
-- the IdP user itself for an IdP-only person. Two equi-joins, never an OR-join.
grant_ev AS (
    SELECT c.app, c.account_id, c.entitlement, c.since_snapshot, e.*
    FROM cur_h c
    JOIN grant_events e
      ON e.app_key = c.app_key AND e.account_id = c.account_id AND e.ent_key = c.ent_key
    UNION ALL
    SELECT c.app, c.account_id, c.entitlement, c.since_snapshot, e.*
    FROM grant_events e
    LEFT JOIN idp_user_owners u ON u.user_id = e.event_person
    JOIN cur_h c
      ON c.person_id = coalesce(u.person_id, e.event_person)
     AND c.app_key = e.app_key AND c.ent_key = e.ent_key
    WHERE e.account_id IS NULL AND e.event_person IS NOT NULL AND NOT c.service_account
),
-- The latest grant event at or before the first snapshot of the holding, and the latest
-- removal in that span.
grant_ev_agg AS (
    SELECT app, account_id, entitlement,
           max(occurred_at) FILTER (WHERE is_add) AS add_at,
           arg_max(json_object('event_id', event_id, 'source', event_source,
                               'action', action, 'native_type', native_type,
                               'occurred_at', occurred_at, 'person_id', event_person),
                   occurred_at) FILTER (WHERE is_add) AS add_event,
           max(occurred_at) FILTER (WHERE NOT is_add) AS remove_at,
           arg_max(json_object('event_id', event_id, 'source', event_source,
                               'action', action, 'native_type', native_type,
                               'occurred_at', occurred_at, 'person_id', event_person),
                   occurred_at) FILTER (WHERE NOT is_add) AS remove_event
    FROM grant_ev
    WHERE occurred_at <= since_snapshot
    GROUP BY ALL
),
-- Held since: the reported grant event when no removal follows it, else the first snapshot
-- of the continuous holding. `since_known` is false for a holding first seen in the very
-- first listing of its scope with no grant event: it was there already, we do not know when
-- it was granted (the snapshot instant is then only a lower bound on how long it is held).
held_since AS (
    SELECT c.*,
           a.add_event, a.remove_event,
           (a.add_at IS NOT NULL AND (a.remove_at IS NULL OR a.remove_at < a.add_at)) AS by_event,
           CASE WHEN a.add_at IS NOT NULL AND (a.remove_at IS NULL OR a.remove_at < a.add_at)
                THEN a.add_at ELSE c.since_snapshot END AS since,
           CASE WHEN a.add_at IS NOT NULL AND (a.remove_at IS NULL OR a.remove_at < a.add_at)
                THEN 'grant event'
                WHEN c.since_snapshot > c.first_listed THEN 'first snapshot'
                ELSE 'first listing of the source' END AS since_basis
    FROM cur_h c
    LEFT JOIN grant_ev_agg a USING (app, account_id, entitlement)
)
SELECT * FROM held_since;

CREATE OR REPLACE TEMP TABLE _creep_judged AS
WITH
held_since AS (SELECT * FROM _held),
cur AS (SELECT * FROM _held),
-- Every person with a role: HR people (the best current record of each person_id: an active
-- employment over a leave over a terminated one, latest hire first, as the matcher decides)
-- and IdP-only people (department, title and status from the current IdP user, status mapped
-- as the matcher does). Department and title compare trimmed and case-blind.
roster AS (
    SELECT person_id, 'hr' AS person_kind, source, hire_date, department, title, status,
           lower(trim(coalesce(department, ''))) AS dept_key,
           lower(trim(coalesce(title, ''))) AS title_key
    FROM people
    WHERE valid_to IS NULL
    QUALIFY row_number() OVER (
        PARTITION BY person_id
        ORDER BY CASE status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END,
                 hire_date DESC NULLS LAST, termination_date DESC NULLS LAST, source
    ) = 1
    UNION ALL
    SELECT i.user_id, 'idp_only', i.source, NULL, i.department, i.title,
           CASE WHEN i.lifecycle IN ('deprovisioned', 'deleted') THEN 'terminated'
                WHEN i.lifecycle = 'suspended' THEN 'leave'
                ELSE 'active' END,
           lower(trim(coalesce(i.department, ''))), lower(trim(coalesce(i.title, '')))
    FROM idp_users i
    JOIN idp_user_owners u ON u.user_id = i.user_id AND u.person_id IS NULL
    WHERE i.valid_to IS NULL
    QUALIFY row_number() OVER (PARTITION BY i.user_id ORDER BY i.source) = 1
),
-- Peers: the active people of a role (department and title; a person with neither has none).
peers AS (
    SELECT * FROM roster
    WHERE status = 'active' AND (dept_key <> '' OR title_key <> '')
),
peer_n AS (
    SELECT dept_key, title_key, count(*) AS n FROM peers GROUP BY ALL
),
-- Who of a role holds what: current grants on the person's own active accounts (owned
-- service accounts are not the person's access), one count per person.
role_holds AS (
    SELECT p.dept_key, p.title_key, lower(c.app) AS app_key, c.entitlement,
           count(DISTINCT p.person_id) AS k
    FROM cur c JOIN peers p ON p.person_id = c.person_id
    WHERE NOT c.service_account
    GROUP BY ALL
),
-- Role history of each HR employment record: versions with the same department and title
-- collapse; the current role began at the latest version whose role differs from the one
-- before it. The move instant is that version's effective_at, else its valid_from.
role_versions AS (
    SELECT source, person_id, hire_date, valid_from, valid_to, effective_at, department, title,
           lower(trim(coalesce(department, ''))) AS dept_key,
           lower(trim(coalesce(title, ''))) AS title_key,
           lag(department) OVER w AS old_department,
           lag(title) OVER w AS old_title,
           lag(lower(trim(coalesce(department, '')))) OVER w AS old_dept_key,
           lag(lower(trim(coalesce(title, '')))) OVER w AS old_title_key,
           lag(valid_from) OVER w AS old_valid_from,
           lag(effective_at) OVER w AS old_effective_at
    FROM people
    WINDOW w AS (PARTITION BY source, person_id, hire_date ORDER BY valid_from)
),
moves AS (
    SELECT v.*, coalesce(v.effective_at, v.valid_from) AS moved_at
    FROM role_versions v
    WHERE v.old_dept_key IS NOT NULL
      AND (v.dept_key <> v.old_dept_key OR v.title_key <> v.old_title_key)
    QUALIFY row_number() OVER (
        PARTITION BY v.source, v.person_id, v.hire_date ORDER BY v.valid_from DESC
    ) = 1
),
time_bound AS (
    SELECT lower(app) AS app_key, lower(trim(entitlement)) AS ent_key, min(max_days) AS max_days
    FROM _time_bound GROUP BY ALL
),
-- Every current grant with the facts the three per-entitlement creep findings need.
judged AS (
    SELECT h.*,
           r.status AS roster_status, r.department, r.title,
           coalesce(n.n, 0) AS peers, coalesce(k.k, 0) AS peer_holders,
           m.moved_at, m.valid_from AS move_seen_at, m.old_department, m.old_title,
           m.old_valid_from, m.old_effective_at,
           coalesce(n0.n, 0) AS old_peers, coalesce(k0.k, 0) AS old_peer_holders,
           t.max_days,
           -- mover_residual: moved more than mover_days ago; held by at least half of the old
           -- role's active peers and by under peer_outlier_pct% of the new role's peers (a
           -- role with no active peer holds nothing). No minimum group size: the definition
           -- sets none.
           coalesce(
               m.moved_at < $now - to_days(CAST($mover_days AS INTEGER))
               AND n0.n > 0 AND 2 * coalesce(k0.k, 0) >= n0.n
               AND (coalesce(n.n, 0) = 0 OR 100 * coalesce(k.k, 0) < $peer_outlier_pct * n.n),
               false) AS is_mover,
           -- expired_grant: the source's own expiry has passed, or the time-bound policy's
           -- max_days have passed since the holding began.
           coalesce(h.expires_at < $now, false)
           OR coalesce(h.since < $now - to_days(CAST(t.max_days AS INTEGER)), false) AS is_expired,
           -- peer_outlier: only for active people, in a peer group of at least peer_min_group.
           coalesce(
               r.status = 'active' AND (r.dept_key <> '' OR r.title_key <> '')
               AND n.n >= $peer_min_group
               AND 100 * coalesce(k.k, 0) < $peer_outlier_pct * n.n,
               false) AS is_outlier
    FROM held_since h
    LEFT JOIN roster r ON r.person_id = h.person_id AND NOT h.service_account
    LEFT JOIN peer_n n ON n.dept_key = r.dept_key AND n.title_key = r.title_key
    LEFT JOIN role_holds k
      ON k.dept_key = r.dept_key AND k.title_key = r.title_key
     AND k.app_key = h.app_key AND k.entitlement = h.entitlement
    LEFT JOIN moves m
      ON r.person_kind = 'hr' AND m.source = r.source AND m.person_id = r.person_id
     AND coalesce(m.hire_date, TIMESTAMPTZ '1900-01-01')
       = coalesce(r.hire_date, TIMESTAMPTZ '1900-01-01')
     AND m.dept_key = r.dept_key AND m.title_key = r.title_key
    LEFT JOIN peer_n n0 ON n0.dept_key = m.old_dept_key AND n0.title_key = m.old_title_key
    LEFT JOIN role_holds k0
      ON k0.dept_key = m.old_dept_key AND k0.title_key = m.old_title_key
     AND k0.app_key = h.app_key AND k0.entitlement = h.entitlement
    LEFT JOIN time_bound t ON t.app_key = h.app_key AND t.ent_key = h.ent_key
)
-- Only grants with a verdict: the detections read no other row.
SELECT * FROM judged WHERE is_mover OR is_expired OR is_outlier;

-- The grant and its grant/removal events as the creep findings' evidence show them, from a
-- row of _held or _creep_judged.
CREATE OR REPLACE TEMP MACRO _creep_grant(j) AS
json_object('entitlement', j.entitlement, 'entitlement_type', j.entitlement_type,
            'source', j.source, 'valid_from', j.since_snapshot,
            'held_since', j.since, 'held_since_basis', j.since_basis,
            'expires_at', j.expires_at);

CREATE OR REPLACE TEMP MACRO _creep_grant_events(j) AS
list_filter([j.add_event, j.remove_event], lambda x: x IS NOT NULL);
