-- Role changes (movers): the population of SOC 2 CC6.3, ISO 27001 A.5.18 and A.6.5 and HIPAA
-- 164.308(a)(4)(ii)(C), "movers lose their old entitlements".
--
-- One row per (move dated in the period, entitlement the person held before the move and still
-- held $mover_days days after it). A move is read from HR history as creep_holdings.sql reads
-- it: a people version of the same employment record (source, person_id, hire_date) whose
-- department or title (trimmed, case-blind) differs from the version right before it, dated
-- by that version's effective_at, else its valid_from. HR versions are those known at $as_of.
-- Holdings are the grants of the person's own accounts (account_facts; owned service accounts
-- are not the person's access), held while the account was listed active; a holding is
-- continuous across contiguous versions. A move whose $mover_days have not elapsed by
-- $evidence_until cannot be judged yet and gives no row; an entitlement dropped within
-- $mover_days of the move gives none either. status is ok | exception; reason is a sentence.
--
-- Exception: a creep/mover_residual finding for the (app, account, entitlement) raised up to
-- $evidence_until and not resolved before the move (the finding can only be raised once the
-- $mover_days have passed, possibly after the period). Every mover_residual finding whose
-- life overlaps the period is a row: one this query would not list (a move before the period,
-- an entitlement granted after the move) is added, with the owner's latest move before it.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period the moves fall in
--   $as_of                      data cut-off: HR records as the store knew them then
--   $evidence_until             grant and account listings and findings read up to here
--   $mover_days                 days after the move an old entitlement may still be held
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until,
           to_days(CAST($mover_days AS INTEGER)) AS window_
),
role_versions AS (
    SELECT p.source, p.person_id, p.hire_date, p.valid_from, p.effective_at, p.display_name,
           p.department, p.title,
           lower(trim(coalesce(p.department, ''))) AS dept_key,
           lower(trim(coalesce(p.title, ''))) AS title_key,
           lag(p.department) OVER w AS old_department,
           lag(p.title) OVER w AS old_title,
           lag(lower(trim(coalesce(p.department, '')))) OVER w AS old_dept_key,
           lag(lower(trim(coalesce(p.title, '')))) OVER w AS old_title_key
    FROM people p, bounds b
    WHERE p.valid_from <= b.as_of
    WINDOW w AS (PARTITION BY p.source, p.person_id, p.hire_date ORDER BY p.valid_from)
),
-- Every move known at the cut-off; two sources recording the same move count once.
all_moves AS (
    SELECT person_id, coalesce(effective_at, valid_from) AS moved_at, display_name,
           coalesce(nullif(concat_ws(' / ', old_department, old_title), ''),
                    '(no department or title)') AS from_role,
           coalesce(nullif(concat_ws(' / ', department, title), ''),
                    '(no department or title)') AS to_role
    FROM role_versions
    WHERE old_dept_key IS NOT NULL AND (dept_key <> old_dept_key OR title_key <> old_title_key)
    QUALIFY row_number() OVER (
        PARTITION BY person_id, coalesce(effective_at, valid_from) ORDER BY source) = 1
),
moves AS (
    SELECT m.* FROM all_moves m, bounds b
    WHERE m.moved_at >= b.period_start AND m.moved_at < b.period_end
),
-- Monitoring's mover_residual findings that could concern a move of the period (raised by
-- the evidence cut-off, not resolved before the period: the period's moves are later), and
-- whether their life overlaps the period.
found AS (
    SELECT f.finding_id, f.app, f.account_id, f.entitlement, f.person_id, f.account,
           f.first_seen_at, f.resolved_at,
           f.first_seen_at < b.period_end AS in_period,
           'creep/mover_residual ' || f.finding_id || ' on '
           || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status ' || f.status
           || CASE WHEN f.status = 'accepted' THEN
                  ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                  || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                  || coalesce(' until '
                     || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
              ELSE '' END || ')' AS text
    FROM findings f, bounds b
    WHERE f.kind = 'creep' AND f.subkind = 'mover_residual'
      AND f.first_seen_at <= b.evidence_until
      AND (f.resolved_at IS NULL OR f.resolved_at >= b.period_start)
),
-- The movers' own accounts, and the findings' accounts.
owned AS (
    SELECT DISTINCT o.app, o.account_id, o.person_id
    FROM account_facts o
    SEMI JOIN (SELECT DISTINCT person_id FROM moves) m USING (person_id)
    WHERE NOT coalesce(o.service_account, false)
),
keys AS (
    SELECT DISTINCT app, account_id FROM owned
    UNION
    SELECT DISTINCT app, account_id FROM found
),
grant_versions AS (
    SELECT g.app, g.account_id, g.entitlement, g.valid_from,
           CASE WHEN g.valid_to <= b.evidence_until THEN g.valid_to
                ELSE CAST('infinity' AS TIMESTAMPTZ) END AS valid_to
    FROM grants g SEMI JOIN keys USING (app, account_id), bounds b
    WHERE g.valid_from <= b.evidence_until
),
-- privileged_access.sql and segregation_of_duties.sql include the block below: the
-- holdings of grant_versions, numbered into islands of continuous holding.
-- shared: holding_islands
account_versions AS (
    SELECT a.app, a.account_id, a.user_name, a.valid_from,
           CASE WHEN a.valid_to <= b.evidence_until THEN a.valid_to
                ELSE CAST('infinity' AS TIMESTAMPTZ) END AS valid_to
    FROM accounts a
    SEMI JOIN (SELECT DISTINCT app, account_id FROM grant_versions) k USING (app, account_id),
    bounds b
    WHERE a.valid_from <= b.evidence_until AND coalesce(a.active, true)
),
-- A grant gives access while its account is listed active: the two intervals' intersection;
-- the grant's other columns (the including query's grant_versions chooses them) ride along.
pieces AS (
    SELECT g.* EXCLUDE (valid_from, valid_to), a.user_name,
           greatest(g.valid_from, a.valid_from) AS piece_from,
           least(g.valid_to, a.valid_to) AS piece_to
    FROM grant_versions g
    JOIN account_versions a
      ON a.app = g.app AND a.account_id = g.account_id
     AND a.valid_from < g.valid_to AND g.valid_from < a.valid_to
),
-- Gaps and islands: a piece starts a new holding unless an earlier one reaches it.
starts AS (
    SELECT p.*,
           coalesce(max(p.piece_to) OVER (
               PARTITION BY p.app, p.account_id, p.entitlement ORDER BY p.piece_from, p.piece_to
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) < p.piece_from, true)
               AS is_start
    FROM pieces p
),
numbered AS (
    SELECT s.*,
           sum(CAST(s.is_start AS INTEGER)) OVER (
               PARTITION BY s.app, s.account_id, s.entitlement ORDER BY s.piece_from, s.piece_to
               ROWS UNBOUNDED PRECEDING) AS island
    FROM starts s
),
-- end shared: holding_islands
holdings AS (
    SELECT app, account_id, entitlement,
           min(piece_from) AS held_from, max(piece_to) AS held_to,
           arg_max(user_name, struct_pack(f := piece_from, u := user_name)) AS user_name
    FROM numbered
    GROUP BY app, account_id, entitlement, island
),
-- Held before the move and still $mover_days after it, the window elapsed by the cut-off.
residual AS (
    SELECT m.person_id, m.display_name, m.moved_at, m.from_role, m.to_role,
           h.app, h.account_id, h.entitlement, h.user_name, h.held_from, h.held_to,
           m.moved_at + b.window_ AS window_end
    FROM moves m
    CROSS JOIN bounds b
    JOIN owned o ON o.person_id = m.person_id
    JOIN holdings h ON h.app = o.app AND h.account_id = o.account_id
    WHERE h.held_from < m.moved_at AND h.held_to > m.moved_at + b.window_
      AND m.moved_at + b.window_ <= b.evidence_until
),
-- A row's findings: raised for its item and not resolved before its move.
matched AS (
    SELECT r.person_id, r.moved_at, r.app, r.account_id, r.entitlement, f.finding_id,
           f.first_seen_at, f.text
    FROM residual r
    JOIN found f
      ON f.app = r.app AND f.account_id = r.account_id AND f.entitlement = r.entitlement
    WHERE f.resolved_at IS NULL OR f.resolved_at >= r.moved_at
),
matched_text AS (
    SELECT person_id, moved_at, app, account_id, entitlement,
           string_agg(text, '; ' ORDER BY first_seen_at, finding_id) AS text
    FROM matched
    GROUP BY ALL
),
-- Findings overlapping the period that no row above names: rows of their own, with the
-- owner's latest move at or before the finding.
unlisted AS (
    SELECT f.*, coalesce(f.person_id, o.person_id) AS owner_id,
           coalesce(o.user_name, f.account, f.account_id) AS account_name
    FROM found f
    LEFT JOIN account_facts o ON o.app = f.app AND o.account_id = f.account_id
    WHERE f.in_period AND f.finding_id NOT IN (SELECT finding_id FROM matched)
),
unlisted_moves AS (
    SELECT u.*, m.moved_at, m.from_role, m.to_role
    FROM unlisted u
    ASOF LEFT JOIN all_moves m ON m.person_id = u.owner_id AND m.moved_at <= u.first_seen_at
),
unlisted_held AS (
    SELECT u.*, h.held_from, h.held_to
    FROM unlisted_moves u
    ASOF LEFT JOIN holdings h
      ON h.app = u.app AND h.account_id = u.account_id AND h.entitlement = u.entitlement
     AND h.held_from <= u.first_seen_at
),
names AS (
    SELECT person_id,
           arg_max(display_name, struct_pack(v := valid_from, n := display_name)) AS display_name
    FROM people p, bounds b
    WHERE p.valid_from <= b.as_of
      AND person_id IN (SELECT owner_id FROM unlisted)
    GROUP BY person_id
)
SELECT
    r.person_id,
    r.display_name,
    r.moved_at,
    r.from_role,
    r.to_role,
    r.app,
    coalesce(r.user_name, r.account_id) AS account,
    r.account_id,
    r.entitlement,
    r.held_from AS held_since,
    CASE WHEN r.held_to < CAST('infinity' AS TIMESTAMPTZ) THEN r.held_to END AS held_until,
    CASE WHEN t.text IS NOT NULL THEN 'exception' ELSE 'ok' END AS status,
    'Held since ' || strftime(timezone('UTC', r.held_from), '%Y-%m-%d %H:%M')
    || ' UTC, before the move from ' || r.from_role || ' to ' || r.to_role || ' on '
    || strftime(timezone('UTC', r.moved_at), '%Y-%m-%d %H:%M') || ' UTC, and still '
    || $mover_days || ' days after it (' || strftime(timezone('UTC', r.window_end), '%Y-%m-%d %H:%M')
    || ' UTC); '
    || CASE WHEN r.held_to < CAST('infinity' AS TIMESTAMPTZ)
            THEN 'held until ' || strftime(timezone('UTC', r.held_to), '%Y-%m-%d %H:%M')
                 || ' UTC.'
            ELSE 'still held at the evidence cut-off.' END
    || coalesce(' Monitoring raised ' || t.text || '.',
                ' Monitoring did not judge it a residual of the old role (no '
                || 'creep/mover_residual finding).') AS reason
FROM residual r
LEFT JOIN matched_text t USING (person_id, moved_at, app, account_id, entitlement)
UNION ALL
SELECT
    u.owner_id,
    n.display_name,
    u.moved_at,
    u.from_role,
    u.to_role,
    u.app,
    u.account_name,
    u.account_id,
    u.entitlement,
    u.held_from,
    CASE WHEN u.held_to < CAST('infinity' AS TIMESTAMPTZ) THEN u.held_to END,
    'exception',
    'Monitoring raised ' || u.text || '; '
    || CASE
        WHEN u.moved_at IS NULL THEN 'no move of the owner is recorded before it.'
        WHEN u.moved_at < b.period_start THEN 'the move it follows, on '
            || strftime(timezone('UTC', u.moved_at), '%Y-%m-%d') || ', is before the period.'
        ELSE 'the entitlement was not held before the move of '
            || strftime(timezone('UTC', u.moved_at), '%Y-%m-%d') || ' and still '
            || $mover_days || ' days after it.'
    END
FROM unlisted_held u
CROSS JOIN bounds b
LEFT JOIN names n ON n.person_id = u.owner_id
ORDER BY moved_at NULLS FIRST, person_id, app, account_id, entitlement
