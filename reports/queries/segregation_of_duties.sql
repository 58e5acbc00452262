-- Segregation of duties: the population of SOC 2 CC6.3 and ISO 27001 A.5.3.
--
-- One row per (policy.sod rule, person, app account holding the rule's `a` entitlement at some
-- instant of the period), for people active at some time in the period (their best HR or IdP
-- record known at $as_of is not terminated, or ended on or after the period start). Holdings
-- are read as sod_toxic_combination.sql reads them, but over time: grants of the person's own
-- accounts (account_facts; owned service accounts are not the person's access), app and
-- entitlement compared case-blind, held while the account was listed active, contiguous
-- versions one holding. status is ok | exception; reason is a sentence.
--
-- Exception: the person held the rule's `b` entitlement (any of their accounts, in any app)
-- at the same time as this `a` holding at some instant of the period (overlap_from/overlap_to:
-- the first such overlap, NULL overlap_to when both are still held), or a sod/toxic_combination
-- finding for the person and rule overlaps the period. Every such finding is a row: one this
-- query would not list (a person terminated before the period, a rule no longer configured)
-- is added with the finding's account. No rule configured and no finding: the population is
-- empty.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period the holdings overlap
--   $as_of                      data cut-off: people's HR and IdP records as known then
--   $evidence_until             grant and account listings and findings read up to here
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
rules AS (
    SELECT name, a_app, a_entitlement, b_app, b_entitlement,
           lower(a_app) AS a_app_key, lower(trim(a_entitlement)) AS a_ent_key,
           lower(b_app) AS b_app_key, lower(trim(b_entitlement)) AS b_ent_key
    FROM _sod_rules
),
-- Only grants some rule names (either side): the rules are few, the grants many.
ruled AS (
    SELECT a_app_key AS app_key, a_ent_key AS ent_key FROM rules
    UNION
    SELECT b_app_key, b_ent_key FROM rules
),
owned AS (
    SELECT app, account_id, person_id, user_name
    FROM account_facts
    WHERE person_id IS NOT NULL AND NOT coalesce(service_account, false)
),
grant_versions AS (
    SELECT g.app, g.account_id, g.entitlement, g.valid_from,
           lower(g.app) AS app_key, lower(trim(g.entitlement)) AS ent_key,
           CASE WHEN g.valid_to <= b.evidence_until THEN g.valid_to
                ELSE CAST('infinity' AS TIMESTAMPTZ) END AS valid_to
    FROM grants g
    JOIN ruled r ON r.app_key = lower(g.app) AND r.ent_key = lower(trim(g.entitlement))
    SEMI JOIN owned o ON o.app = g.app AND o.account_id = g.account_id,
    bounds b
    WHERE g.valid_from <= b.evidence_until
),
-- include: role_changes.sql holding_islands
islands AS (
    SELECT app, account_id, entitlement, app_key, ent_key,
           arg_max(user_name, struct_pack(f := piece_from, u := user_name)) AS user_name,
           min(piece_from) AS held_from, max(piece_to) AS held_to
    FROM numbered
    GROUP BY app, account_id, entitlement, app_key, ent_key, island
),
-- Holdings that touch the period, with their owner.
holdings AS (
    SELECT i.app, i.account_id, i.entitlement, i.app_key, i.ent_key, o.person_id,
           coalesce(i.user_name, o.user_name, i.account_id) AS account,
           i.held_from, i.held_to
    FROM islands i
    JOIN owned o ON o.app = i.app AND o.account_id = i.account_id
    CROSS JOIN bounds b
    WHERE i.held_from < b.period_end AND i.held_to > b.period_start
),
-- People's best record known at the data cut-off (as the matcher ranks HR records; IdP-only
-- people by their canonical lifecycle, ended as the matcher dates it).
-- include: privileged_access.sql people_roster
-- Side a: one row per (rule, person, account), its holdings' span; people terminated before
-- the period are out (an unknown person is kept: nothing proves they were gone).
a_side AS (
    SELECT r.name, h.person_id, h.app, h.account_id,
           min(h.entitlement) AS entitlement, min(h.account) AS account,
           min(h.held_from) AS held_from, max(h.held_to) AS held_to
    FROM rules r
    JOIN holdings h ON h.app_key = r.a_app_key AND h.ent_key = r.a_ent_key
    LEFT JOIN roster p ON p.person_id = h.person_id
    WHERE p.person_id IS NULL OR p.status <> 'terminated'
       OR coalesce(p.ended_at >= (SELECT period_start FROM bounds), true)
    GROUP BY ALL
),
-- Every (a holding, b holding) pair of a person held at the same time; the first overlap of
-- each a row is the one shown. Both touch the period, so any overlap of theirs does too.
pairs AS (
    SELECT r.name, a.person_id, a.app, a.account_id,
           arg_min(struct_pack(app := b.app, account := b.account, entitlement := b.entitlement,
                               from_ := greatest(a.held_from, b.held_from),
                               to_ := least(a.held_to, b.held_to)),
                   struct_pack(f := greatest(a.held_from, b.held_from), app := b.app,
                               id := b.account_id, e := b.entitlement)) AS first_pair
    FROM rules r
    JOIN holdings a ON a.app_key = r.a_app_key AND a.ent_key = r.a_ent_key
    JOIN holdings b
      ON b.person_id = a.person_id AND b.app_key = r.b_app_key AND b.ent_key = r.b_ent_key
     AND NOT (b.app = a.app AND b.account_id = a.account_id AND b.entitlement = a.entitlement)
    WHERE greatest(a.held_from, b.held_from) < least(a.held_to, b.held_to)
    GROUP BY ALL
),
-- A b holding in the period that never overlapped the a row (named in an ok row's reason).
other_b AS (
    SELECT r.name, b.person_id,
           arg_min(struct_pack(app := b.app, account := b.account, entitlement := b.entitlement,
                               from_ := b.held_from, to_ := b.held_to),
                   struct_pack(f := b.held_from, app := b.app, id := b.account_id,
                               e := b.entitlement)) AS b
    FROM rules r
    JOIN holdings b ON b.app_key = r.b_app_key AND b.ent_key = r.b_ent_key
    GROUP BY ALL
),
found AS (
    SELECT f.person_id, f.rule, f.app, f.account_id, f.account, f.finding_id, f.first_seen_at,
           'sod/toxic_combination ' || f.finding_id || ' on '
           || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status ' || f.status
           || CASE WHEN f.status = 'accepted' THEN
                  ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                  || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                  || coalesce(' until '
                     || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
              ELSE '' END || ')' AS text
    FROM findings f, bounds b
    WHERE f.kind = 'sod' AND f.subkind = 'toxic_combination'
      AND f.first_seen_at < b.period_end AND f.first_seen_at <= b.evidence_until
      AND (f.resolved_at IS NULL OR f.resolved_at >= b.period_start)
),
found_text AS (
    SELECT person_id, rule, string_agg(text, '; ' ORDER BY first_seen_at, finding_id) AS text
    FROM found
    GROUP BY ALL
),
-- Findings whose person and rule have no row: a row each, on the finding's account.
unlisted AS (
    SELECT f.rule AS name, f.person_id, f.app, f.account_id,
           coalesce(o.user_name, f.account, f.account_id) AS account,
           string_agg(f.text, '; ' ORDER BY f.first_seen_at, f.finding_id) AS text
    FROM found f
    LEFT JOIN account_facts o ON o.app = f.app AND o.account_id = f.account_id
    ANTI JOIN a_side a ON a.name = f.rule AND a.person_id = f.person_id
    GROUP BY ALL
),
rows_ AS (
    SELECT a.*, p.first_pair AS pair, o.b AS other, t.text AS found
    FROM a_side a
    LEFT JOIN pairs p USING (name, person_id, app, account_id)
    LEFT JOIN other_b o USING (name, person_id)
    LEFT JOIN found_text t ON t.rule = a.name AND t.person_id = a.person_id
    UNION ALL
    SELECT u.name, u.person_id, u.app, u.account_id, r.a_entitlement, u.account,
           NULL, NULL, NULL, NULL, u.text
    FROM unlisted u
    LEFT JOIN rules r ON r.name = u.name
)
SELECT
    w.name AS rule,
    w.person_id,
    p.display_name,
    w.app,
    w.account,
    w.account_id,
    w.entitlement,
    w.pair.app AS conflicting_app,
    w.pair.account AS conflicting_account,
    w.pair.entitlement AS conflicting_entitlement,
    w.held_from,
    CASE WHEN w.held_to < CAST('infinity' AS TIMESTAMPTZ) THEN w.held_to END AS held_to,
    w.pair.from_ AS overlap_from,
    CASE WHEN w.pair.to_ < CAST('infinity' AS TIMESTAMPTZ) THEN w.pair.to_ END AS overlap_to,
    CASE WHEN w.pair IS NOT NULL OR w.found IS NOT NULL THEN 'exception' ELSE 'ok' END
        AS status,
    CASE
        WHEN w.held_from IS NULL THEN
            CASE WHEN r.name IS NULL THEN 'Rule ' || w.name || ' is not configured'
                 WHEN p.status = 'terminated' AND p.ended_at < x.period_start
                     THEN 'The person was terminated '
                         || strftime(timezone('UTC', p.ended_at), '%Y-%m-%d %H:%M')
                         || ' UTC, before the period'
                 ELSE 'No ' || r.a_app || ' ' || r.a_entitlement
                     || ' holding on an active account of the person was found in the period'
            END || '.'
        ELSE 'Held ' || w.app || ' ' || w.entitlement || ' (account ' || w.account || ') from '
            || strftime(timezone('UTC', w.held_from), '%Y-%m-%d %H:%M') || ' UTC'
            || CASE WHEN w.held_to < CAST('infinity' AS TIMESTAMPTZ)
                    THEN ' to ' || strftime(timezone('UTC', w.held_to), '%Y-%m-%d %H:%M') || ' UTC'
                    ELSE ', still held at the evidence cut-off' END
            || CASE
                WHEN w.pair IS NOT NULL THEN ', and ' || w.pair.app || ' ' || w.pair.entitlement
                    || ' (account ' || w.pair.account || ') at the same time from '
                    || strftime(timezone('UTC', w.pair.from_), '%Y-%m-%d %H:%M') || ' UTC'
                    || CASE WHEN w.pair.to_ < CAST('infinity' AS TIMESTAMPTZ)
                            THEN ' to ' || strftime(timezone('UTC', w.pair.to_), '%Y-%m-%d %H:%M')
                                 || ' UTC'
                            ELSE ', both still held at the evidence cut-off' END
                    || ', a combination forbidden by rule ' || w.name || '.'
                WHEN w.other IS NOT NULL THEN '; held ' || w.other.app || ' '
                    || w.other.entitlement || ' (account ' || w.other.account || ') only from '
                    || strftime(timezone('UTC', w.other.from_), '%Y-%m-%d %H:%M') || ' UTC'
                    || CASE WHEN w.other.to_ < CAST('infinity' AS TIMESTAMPTZ)
                            THEN ' to ' || strftime(timezone('UTC', w.other.to_), '%Y-%m-%d %H:%M')
                                 || ' UTC'
                            ELSE '' END
                    || ', never at the same time in the period (rule ' || w.name || ').'
                ELSE '; held no ' || r.b_app || ' ' || r.b_entitlement
                    || ' in the period (rule ' || w.name || ').'
            END
    END
    || coalesce(' Monitoring raised ' || w.found || '.', '') AS reason
FROM rows_ w
CROSS JOIN bounds x
LEFT JOIN roster p ON p.person_id = w.person_id
LEFT JOIN rules r ON r.name = w.name
ORDER BY rule, person_id, app, account_id
