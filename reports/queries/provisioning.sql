-- Provisioning of new accounts (joiners): the population of SOC 2 CC6.2, "registers and
-- authorizes new users before issuing system credentials", ISO 27001 A.5.16/A.5.18 and HIPAA
-- 164.308(a)(4)(ii)(C).
--
-- One row per app account created in the period, plus one row per account that monitoring
-- found unauthorised (orphan/unmatched, drift/unassigned_account) during the period, whenever
-- it was created. status is ok | exception; reason is a sentence.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period that the creation instants fall in
--   $evidence_until             listings, HR records, assignments and findings are read up to
--                               here (an account created in the period may be listed after it)
--
-- The creation instant is the app's reported created_at (the earliest any version reports),
-- else the instant the account was first listed. An account already present in its source's
-- first listing (its first completed sync; without a recorded sync, its earliest version) was
-- not necessarily created then: without a reported created_at its creation is unknown and it
-- is not in the population (unless a finding names it).
--
-- Ownership is the identity matcher's (account_facts, from the latest detect run). An account
-- is an exception when:
--   - it matches no person and is not an owned service account (nobody authorised it), or an
--     orphan/unmatched finding for it was open at some time in the period;
--   - a drift/unassigned_account finding for it (active in an app the IdP manages, with no IdP
--     assignment) was open at some time in the period;
--   - it was created before the hire date of the employment it belongs to: the employment in
--     effect at the creation instant (hire <= creation <= termination) if any, else the next
--     one (a rehire: created after the old termination, before the rehire); created after the
--     last employment ended, with no later hire, is an exception too. Employments are the HR
--     records of the owner's person_id and of other person_ids sharing its email (a rehire
--     under a new id). An owner known to the IdP only (idp_only) has no hire date: not judged.
-- An owned service account is authorised by its owner (policy): not judged on hire dates.
-- A finding counts when first seen before the period's end (and by the evidence cut-off) and
-- not resolved before the period's start; an accepted risk is still an exception.
--
-- hours_to_provision (accounts created in the period, not service accounts): hours from the
-- later of the hire date and the IdP's assignment of the app to the owner, to the creation.
-- The assignment is the episode (unbroken run of assignment versions, not INACTIVE or
-- DEPROVISIONED) of an IdP user of the owner (its matched IdP users, or the account's
-- externalId) that covers the creation, else the first one after it; its instant is
-- the IdP's assigned_at, else the episode's first listing. Negative: created before that.
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- provisioning_latency.sql includes the block below (its `-- include:` line).
-- shared: population
-- Monitoring's verdicts in the period, one sentence per account.
flagged AS (
-- shared: finding_list
    -- Each account's findings as one sentence (unique_ids.sql includes these lines).
    SELECT f.app, f.account_id, max(f.account) AS account,
           string_agg(f.kind || '/' || f.subkind || ' ' || f.finding_id || ' on '
                      || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status '
                      || f.status
                      || CASE WHEN f.status = 'accepted' THEN
                             ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                             || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                             || coalesce(' until '
                                || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
                         WHEN f.resolved_at IS NOT NULL THEN
                             ' on ' || strftime(timezone('UTC', f.resolved_at), '%Y-%m-%d')
                         ELSE '' END || ')',
                      '; ' ORDER BY f.first_seen_at, f.finding_id) AS finding
    FROM findings f
-- end shared: finding_list
    WHERE ((f.kind = 'orphan' AND f.subkind = 'unmatched')
           OR (f.kind = 'drift' AND f.subkind = 'unassigned_account'))
      AND f.app IS NOT NULL AND f.account_id IS NOT NULL
      AND f.first_seen_at < (SELECT period_end FROM bounds)
      AND f.first_seen_at <= (SELECT evidence_until FROM bounds)
      AND (f.resolved_at IS NULL OR f.resolved_at >= (SELECT period_start FROM bounds))
    GROUP BY f.app, f.account_id
),
-- Each source's first listing: its first completed sync; for a source without a recorded
-- sync (data loaded another way), its earliest listed version.
first_syncs AS (
    SELECT source, min(as_of) AS first_sync FROM sync_runs WHERE status = 'ok' GROUP BY source
    UNION ALL
    SELECT source, min(valid_from)
    FROM accounts
    WHERE source NOT IN (SELECT source FROM sync_runs WHERE status = 'ok')
    GROUP BY source
),
-- Per account: when it was first listed in its source's first sync (initial_at) and first
-- listed otherwise (later_at); kept when either that or a reported creation falls in the
-- period, or a finding names it. One pass of plain min() over every version: a prefilter on
-- recent versions saves nothing where logins open versions daily, and struct arg_min over
-- millions of versions costs seconds (min() stays deterministic when two sources list an
-- account at once).
listed AS (
    SELECT a.app, a.account_id,
           min(a.valid_from) FILTER (WHERE a.valid_from <= s.first_sync) AS initial_at,
           min(a.valid_from) FILTER (WHERE NOT coalesce(a.valid_from <= s.first_sync, false))
               AS later_at,
           min(a.created_at) AS reported_created,
           min(a.user_name) AS listed_name
    FROM accounts a
    LEFT JOIN first_syncs s ON s.source = a.source
    LEFT JOIN (SELECT app, account_id, true AS flagged FROM flagged) f
      ON f.app = a.app AND f.account_id = a.account_id
    WHERE a.valid_from <= (SELECT evidence_until FROM bounds)
    GROUP BY a.app, a.account_id
    HAVING bool_or(f.flagged)
        OR (min(a.created_at) >= (SELECT period_start FROM bounds)
            AND min(a.created_at) < (SELECT period_end FROM bounds))
        OR (later_at >= (SELECT period_start FROM bounds)
            AND later_at < (SELECT period_end FROM bounds))
),
-- Listed first outside a first sync (new_at) dates the account; listed first in a first sync
-- (in_first_listing), it may predate monitoring: only a reported creation dates it.
created AS (
    SELECT l.app, l.account_id, l.listed_name, l.first_listed,
           l.new_at IS NULL AS in_first_listing,
           coalesce(l.reported_created, l.new_at) AS created_at,
           CASE WHEN l.reported_created IS NOT NULL THEN 'reported'
                WHEN l.new_at IS NOT NULL THEN 'first listed'
           END AS created_basis
    FROM (
        SELECT *, least(initial_at, later_at) AS first_listed,
               CASE WHEN initial_at IS NULL OR later_at < initial_at THEN later_at END AS new_at
        FROM listed
    ) l
),
population AS (
    SELECT app, account_id, c.listed_name, f.account AS finding_account,
           c.first_listed, c.in_first_listing, c.created_at, c.created_basis,
           coalesce(c.created_at >= (SELECT period_start FROM bounds)
                    AND c.created_at < (SELECT period_end FROM bounds), false) AS in_period,
           f.finding
    FROM created c
    FULL JOIN flagged f USING (app, account_id)
    WHERE f.finding IS NOT NULL
       OR (c.created_at >= (SELECT period_start FROM bounds)
           AND c.created_at < (SELECT period_end FROM bounds))
),
-- The user name as the app reports it now (the matcher keeps each account's latest version).
owned AS (
    SELECT p.* EXCLUDE (listed_name, finding_account),
           coalesce(o.user_name, p.listed_name, p.finding_account, p.account_id) AS account,
           o.person_id, o.matched_by, o.person_kind, o.external_id,
           o.app IS NOT NULL AS matched,
           coalesce(o.service_account, false) AS service_account
    FROM population p
    LEFT JOIN account_facts o ON o.app = p.app AND o.account_id = p.account_id
),
-- The latest version of each HR record known at the evidence cut-off (a record a later
-- export dropped keeps its last version, so an old employment stays known).
hr AS (
    SELECT person_id, hire_date, termination_date, lower(trim(email)) AS email_key
    FROM people
    WHERE valid_from <= (SELECT evidence_until FROM bounds)
      AND coalesce(employment_type, '') <> 'idp_only'
    QUALIFY row_number() OVER (
        PARTITION BY source, person_id, hire_date ORDER BY valid_from DESC) = 1
),
judged_accounts AS (
    SELECT app, account_id, person_id, created_at, external_id
    FROM owned
    WHERE in_period AND NOT service_account AND person_id IS NOT NULL
),
owners AS (SELECT DISTINCT person_id FROM judged_accounts),
-- The owner's employments: its own HR records and those sharing an email with them.
employments AS (
    SELECT o.person_id, h.hire_date, h.termination_date
    FROM owners o JOIN hr h USING (person_id)
    UNION
    SELECT o.person_id, h2.hire_date, h2.termination_date
    FROM owners o
    JOIN hr h1 ON h1.person_id = o.person_id
    JOIN hr h2 ON h2.email_key = h1.email_key
    WHERE h1.email_key <> ''
),
employment AS (
    SELECT j.app, j.account_id,
           count(e.hire_date) AS hires,
           max(e.hire_date) FILTER (
               WHERE e.hire_date <= j.created_at
                 AND (e.termination_date IS NULL OR e.termination_date >= j.created_at))
               AS during_hire,
           arg_max_null(e.termination_date, e.hire_date) FILTER (
               WHERE e.hire_date <= j.created_at
                 AND (e.termination_date IS NULL OR e.termination_date >= j.created_at))
               AS during_end,
           min(e.hire_date) FILTER (WHERE e.hire_date > j.created_at) AS next_hire,
           max(e.termination_date) FILTER (WHERE e.termination_date < j.created_at)
               AS previous_end
    FROM judged_accounts j
    JOIN employments e USING (person_id)
    GROUP BY j.app, j.account_id
),
-- The IdP users each judged account stands for: its owner's matched IdP users, the owner
-- itself (an idp_only person is its IdP user) and its externalId. (An assigned user name
-- needs no link of its own: the matcher gave the account that IdP user's person.)
links AS (
    SELECT j.app, j.account_id, u.user_id
    FROM judged_accounts j JOIN idp_user_owners u ON u.person_id = j.person_id
    UNION
    SELECT app, account_id, person_id FROM judged_accounts
    UNION
    SELECT app, account_id, external_id FROM judged_accounts WHERE external_id IS NOT NULL
),
link_keys AS (SELECT DISTINCT lower(app) AS app_key, user_id FROM links),
assignment_versions AS (
    SELECT s.source, lower(s.app) AS app_key, s.idp_user_id, s.valid_from, s.assigned_at,
           CASE WHEN s.valid_to <= (SELECT evidence_until FROM bounds) THEN s.valid_to END
               AS valid_to
    FROM assignments s
    JOIN link_keys k ON k.app_key = lower(s.app) AND k.user_id = s.idp_user_id
    WHERE s.valid_from <= (SELECT evidence_until FROM bounds)
      AND coalesce(upper(s.status), '') NOT IN ('INACTIVE', 'DEPROVISIONED')
),
-- Episodes: a version that does not continue the previous one at its close starts one.
assignment_starts AS (
    SELECT v.*,
           sum(CASE WHEN v.valid_from = v.previous_to THEN 0 ELSE 1 END) OVER (
               PARTITION BY v.source, v.app_key, v.idp_user_id ORDER BY v.valid_from
           ) AS episode
    FROM (
        SELECT a.*, lag(a.valid_to) OVER (
                   PARTITION BY a.source, a.app_key, a.idp_user_id ORDER BY a.valid_from
               ) AS previous_to
        FROM assignment_versions a
    ) v
),
episodes AS (
    SELECT app_key, idp_user_id,
           coalesce(min(assigned_at), min(valid_from)) AS started_at,
           CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS ended_at
    FROM assignment_starts
    GROUP BY source, app_key, idp_user_id, episode
),
assigned AS (
    SELECT j.app, j.account_id,
           coalesce(
               max(e.started_at) FILTER (
                   WHERE e.started_at <= j.created_at
                     AND (e.ended_at IS NULL OR e.ended_at > j.created_at)),
               min(e.started_at) FILTER (WHERE e.started_at > j.created_at)) AS assigned_at
    FROM judged_accounts j
    JOIN links l USING (app, account_id)
    JOIN episodes e ON e.app_key = lower(j.app) AND e.idp_user_id = l.user_id
    GROUP BY j.app, j.account_id
),
-- An owner with no HR employment is known to the IdP only (the matcher says so, or the store
-- lists it as an idp_only person or an IdP user).
idp_only AS (
    SELECT DISTINCT person_id FROM people
    WHERE employment_type = 'idp_only' AND person_id IN (SELECT person_id FROM owners)
    UNION
    SELECT DISTINCT user_id FROM idp_users WHERE user_id IN (SELECT person_id FROM owners)
),
judged AS (
    SELECT o.*,
           coalesce(e.during_hire, e.next_hire) AS hire_date,
           e.during_end, e.next_hire, e.previous_end,
           a.assigned_at,
           CASE
               WHEN NOT o.in_period OR o.service_account OR o.person_id IS NULL THEN NULL
               WHEN coalesce(e.hires, 0) = 0
                    AND (o.person_kind = 'idp_only' OR i.person_id IS NOT NULL) THEN 'idp_only'
               WHEN e.app IS NULL THEN 'no_hr'
               WHEN e.hires = 0 THEN 'no_hire_date'
               WHEN e.during_hire IS NOT NULL THEN 'during'
               WHEN e.next_hire IS NOT NULL THEN 'before_hire'
               ELSE 'after_end'
           END AS employment
    FROM owned o
    LEFT JOIN employment e USING (app, account_id)
    LEFT JOIN assigned a USING (app, account_id)
    LEFT JOIN idp_only i ON i.person_id = o.person_id
),
measured AS (
    SELECT j.*,
           CASE WHEN j.employment IS NOT NULL THEN round(
               (epoch_us(j.created_at) - epoch_us(greatest(j.hire_date, j.assigned_at)))
               / 3600e6, 2) END AS hours_to_provision
    FROM judged j
)
-- end shared: population
,
names AS (
    SELECT person_id,
           arg_max(display_name, struct_pack(v := valid_from, n := display_name))
               AS display_name
    FROM people
    WHERE valid_from <= (SELECT evidence_until FROM bounds)
      AND person_id IN (SELECT person_id FROM measured)
    GROUP BY person_id
),
idp_names AS (
    SELECT user_id,
           arg_max(coalesce(display_name, login),
                   struct_pack(v := valid_from, n := coalesce(display_name, login)))
               AS display_name
    FROM idp_users
    WHERE valid_from <= (SELECT evidence_until FROM bounds)
      AND user_id IN (SELECT person_id FROM measured)
    GROUP BY user_id
),
-- Sentence fragments: instants, days, durations ("4.0 days", "21.0 h").
worded AS (
    SELECT m.*,
           coalesce(n.display_name, i.display_name) AS display_name,
           coalesce(coalesce(n.display_name, i.display_name) || ' (' || m.person_id || ')',
                    m.person_id) AS who,
           strftime(timezone('UTC', m.created_at), '%Y-%m-%d %H:%M') || ' UTC' AS created_text,
           CASE WHEN timezone('UTC', m.hire_date)::TIME = TIME '00:00:00'
                THEN strftime(timezone('UTC', m.hire_date), '%Y-%m-%d')
                ELSE strftime(timezone('UTC', m.hire_date), '%Y-%m-%d %H:%M') || ' UTC'
           END AS hire_text,
           CASE WHEN timezone('UTC', m.during_end)::TIME = TIME '23:59:59.999999'
                THEN strftime(timezone('UTC', m.during_end), '%Y-%m-%d')
                ELSE strftime(timezone('UTC', m.during_end), '%Y-%m-%d %H:%M') || ' UTC'
           END AS during_end_text,
           CASE WHEN timezone('UTC', m.previous_end)::TIME = TIME '23:59:59.999999'
                THEN strftime(timezone('UTC', m.previous_end), '%Y-%m-%d')
                ELSE strftime(timezone('UTC', m.previous_end), '%Y-%m-%d %H:%M') || ' UTC'
           END AS previous_end_text,
           (epoch_us(m.created_at) - epoch_us(m.hire_date)) / 3600e6 AS hire_hours,
           (epoch_us(m.created_at) - epoch_us(m.previous_end)) / 3600e6 AS end_hours,
           (epoch_us(m.created_at) - epoch_us(m.assigned_at)) / 3600e6 AS assigned_hours
    FROM measured m
    LEFT JOIN names n ON n.person_id = m.person_id
    LEFT JOIN idp_names i ON i.user_id = m.person_id
),
durations AS (
    SELECT w.*,
           CASE WHEN abs(w.hire_hours) < 48 THEN printf('%.1f h', abs(w.hire_hours))
                ELSE printf('%.1f days', abs(w.hire_hours) / 24) END AS hire_gap,
           CASE WHEN abs(w.end_hours) < 48 THEN printf('%.1f h', abs(w.end_hours))
                ELSE printf('%.1f days', abs(w.end_hours) / 24) END AS end_gap,
           CASE WHEN abs(w.assigned_hours) < 48 THEN printf('%.1f h', abs(w.assigned_hours))
                ELSE printf('%.1f days', abs(w.assigned_hours) / 24) END AS assigned_gap
    FROM worded w
)
SELECT
    d.person_id,
    d.display_name,
    d.app,
    d.account,
    d.account_id,
    d.created_at,
    d.created_basis,
    d.hire_date,
    d.assigned_at,
    d.hours_to_provision,
    CASE WHEN d.finding IS NOT NULL
              OR (NOT d.service_account AND d.person_id IS NULL)
              OR d.employment IN ('before_hire', 'after_end')
         THEN 'exception' ELSE 'ok' END AS status,
    -- When it was created.
    CASE
        WHEN d.created_basis = 'reported' THEN 'Created ' || d.created_text
            || ', as the app reports'
            || CASE WHEN d.in_period THEN '.' ELSE ', outside the period.' END
        WHEN d.created_basis = 'first listed' THEN 'First listed ' || d.created_text
            || CASE WHEN d.in_period THEN '; the app reports no creation date, so the first '
                                          || 'observation is taken as the creation date.'
                    ELSE ', outside the period; the app reports no creation date.' END
        WHEN d.in_first_listing THEN 'Listed since the first listing of its source on '
            || strftime(timezone('UTC', d.first_listed), '%Y-%m-%d %H:%M')
            || ' UTC, and the app reports no creation date: when it was created is unknown.'
        ELSE 'Not found in any listing up to the evidence cut-off: when it was created is '
            || 'unknown.'
    END
    -- Who authorised it.
    || CASE
        WHEN d.service_account THEN ' An owned service account (policy), authorised by its '
            || 'owner ' || d.who || '.'
        WHEN d.person_id IS NULL AND NOT d.matched THEN ' No detect run has matched it to a '
            || 'person: nobody is known to have authorised it.'
        WHEN d.person_id IS NULL THEN ' It matches no person (no HR record or IdP user by '
            || 'externalId, email, alias or login) and no service-account policy names it: '
            || 'nobody authorised it.'
        ELSE ' Owned by ' || d.who || ', matched by ' || coalesce(d.matched_by, 'nothing')
            || CASE d.employment
                WHEN 'during' THEN '; created ' || d.hire_gap || ' after the hire date '
                    || d.hire_text
                    || CASE WHEN d.previous_end IS NOT NULL
                            THEN ' of a rehire (the previous employment ended '
                                 || d.previous_end_text || ')' ELSE '' END
                    || CASE WHEN d.next_hire IS NOT NULL AND d.during_end IS NOT NULL
                            THEN ', during the employment that ended ' || d.during_end_text
                            ELSE '' END || '.'
                WHEN 'before_hire' THEN '; created ' || d.hire_gap || ' before the hire date '
                    || d.hire_text
                    || CASE WHEN d.previous_end IS NOT NULL
                            THEN ' of a rehire, after the previous employment ended '
                                 || d.previous_end_text ELSE '' END || '.'
                WHEN 'after_end' THEN '; created ' || d.end_gap || ' after the employment '
                    || 'ended ' || d.previous_end_text || ', with no later hire.'
                WHEN 'idp_only' THEN ', a person known to the identity provider only: there '
                    || 'is no HR hire date, so no before-hire judgement.'
                WHEN 'no_hr' THEN ', who has no HR record: there is no hire date, so no '
                    || 'before-hire judgement.'
                WHEN 'no_hire_date' THEN '; HR records no hire date for this person, so no '
                    || 'before-hire judgement.'
                ELSE '.'
            END
    END
    -- When the IdP assigned the app.
    || CASE WHEN d.assigned_at IS NOT NULL AND d.employment IS NOT NULL
            THEN ' The identity provider assigned the app at '
                 || strftime(timezone('UTC', d.assigned_at), '%Y-%m-%d %H:%M') || ' UTC, '
                 || d.assigned_gap
                 || CASE WHEN d.assigned_hours < 0 THEN ' after' ELSE ' before' END
                 || ' the creation.'
            ELSE '' END
    || CASE WHEN d.finding IS NULL THEN ''
            WHEN d.in_period THEN ' Monitoring raised ' || d.finding || '.'
            ELSE ' It is in the population because a monitoring finding was open in the '
                 || 'period: ' || d.finding || '.' END
        AS reason
FROM durations d
ORDER BY d.created_at NULLS LAST, d.app, d.account_id
