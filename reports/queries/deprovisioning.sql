-- Deprovisioning of terminated users: the population of SOC 2 CC6.2, "credentials are removed
-- when user access is no longer authorized".
--
-- One row per (termination in the period, app account that belonged to the person), plus one
-- row per terminated person with no app account. Terminations are HR's, and the IdP's
-- deprovisioning of people it knows without an HR record (idp_only). status is ok | exception; reason is a sentence.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period that the termination dates fall in
--   $as_of                      data cut-off: HR records as the store knew them at this instant
--   $evidence_until             removal evidence (listings, events, findings) is read up to here
--   $grace_hours                an account still active this long after termination: exception
--   $deprovision_sla_hours      an account removed later than this after termination: exception
--
-- The removal instant follows ARCHITECTURE.md (sla/deprovision_late): the earliest removal the
-- source reported (account.deactivate, account.delete, app.unassign); without one, it lies
-- between the last full listing that showed the account active and the first listing that showed
-- it inactive or absent, and it is late only when even that earlier bound is past the SLA.
-- Inferred (snapshot-difference) events only bound it from above.
WITH
runs AS (
    SELECT run_id, source, mode, as_of
    FROM sync_runs
    WHERE status = 'ok' AND as_of <= $evidence_until
),
-- Latest version of each HR record known at the cut-off. A record that a later export dropped
-- keeps its last version, so its termination stays in the population.
hr AS (
    SELECT person_id, hire_date, display_name, termination_date
    FROM people
    WHERE valid_from <= $as_of AND coalesce(employment_type, '') <> 'idp_only'
    QUALIFY row_number() OVER (
        PARTITION BY source, person_id, hire_date ORDER BY valid_from DESC) = 1
),
-- People the IdP knows without an HR record (idp_only) end when the IdP deprovisions them.
idp_only_ends AS (
    SELECT i.user_id AS person_id, i.status_changed_at AS termination_date,
           coalesce(i.display_name, i.login) AS display_name
    FROM idp_users i
    JOIN idp_user_owners o ON o.user_id = i.user_id AND o.person_id IS NULL
    WHERE i.valid_from <= $as_of AND i.status = 'DEPROVISIONED'
    QUALIFY row_number() OVER (PARTITION BY i.source, i.user_id ORDER BY i.valid_from DESC) = 1
),
terminations AS (
    SELECT person_id, termination_date, max(display_name) AS display_name
    FROM (SELECT person_id, termination_date, display_name FROM hr
          UNION ALL
          SELECT person_id, termination_date, display_name FROM idp_only_ends)
    WHERE termination_date >= $period_start AND termination_date < $period_end
    GROUP BY person_id, termination_date
),
-- A rehire under the same person_id ends the duty to remove the old employment's access.
rehires AS (
    SELECT t.person_id, t.termination_date, min(h.hire_date) AS rehired_at
    FROM terminations t
    JOIN hr h ON h.person_id = t.person_id AND h.hire_date > t.termination_date
    GROUP BY t.person_id, t.termination_date
),
-- Owned service accounts are the team's, not the leaver's credentials: not in this population.
service AS (
    SELECT app, account_id FROM account_owners WHERE matched_by = 'service_account'
),
owned AS (
    SELECT t.person_id, t.termination_date, o.app, o.account_id, o.user_name
    FROM terminations t
    JOIN account_owners o ON o.person_id = t.person_id
    WHERE o.matched_by <> 'service_account'
    UNION
    -- An account the listings never showed (only events name it) is still named by its
    -- own events.
    SELECT DISTINCT t.person_id, t.termination_date, e.app, e.account_id, NULL
    FROM terminations t
    JOIN events e ON e.person_id = t.person_id
    WHERE e.action LIKE 'account.%' AND e.app IS NOT NULL AND e.account_id IS NOT NULL
      AND e.run_id IN (SELECT run_id FROM runs)
      AND NOT EXISTS (
          SELECT 1 FROM account_owners o
          WHERE o.app = e.app AND o.account_id = e.account_id
            AND (o.matched_by = 'service_account' OR o.person_id = t.person_id))
),
accounts_owned AS (
    SELECT person_id, termination_date, app, account_id, max(user_name) AS user_name
    FROM owned
    GROUP BY ALL
),
-- Listings up to the evidence cut-off; a version closed after it counts as still open.
versions AS (
    SELECT a.app, a.account_id, a.source, a.user_name, a.valid_from,
           CASE WHEN a.valid_to <= $evidence_until THEN a.valid_to END AS valid_to,
           coalesce(a.active, true) AS active
    FROM accounts a
    WHERE a.valid_from <= $evidence_until
      AND EXISTS (
          SELECT 1 FROM accounts_owned o WHERE o.app = a.app AND o.account_id = a.account_id)
),
-- Each time a listing stopped showing an account active: an active version closed and no
-- active version of the same source took over at that instant (inactive, or gone).
ends AS (
    SELECT v.app, v.account_id, v.source, v.valid_from AS active_from, v.valid_to AS ended_at,
           greatest(v.valid_from, (
               SELECT max(r.as_of) FROM runs r
               WHERE r.source = v.source AND r.mode = 'full'
                 AND r.as_of >= v.valid_from AND r.as_of < v.valid_to)) AS last_seen_active
    FROM versions v
    WHERE v.active AND v.valid_to IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM versions n
          WHERE n.app = v.app AND n.account_id = v.account_id AND n.source = v.source
            AND n.valid_from = v.valid_to AND n.active)
),
-- Removal and activation events, with the IdP's names resolved: an IdP reports the app by its
-- label (matched case-insensitively) and the person by its IdP user id, not the app account.
events_used AS (
    SELECT lower(e.app) AS app_key, e.account_id, coalesce(u.person_id, e.person_id) AS person_id,
           e.action, e.source, e.occurred_at, e.inferred
    FROM events e
    LEFT JOIN idp_user_owners u ON u.user_id = e.person_id
    WHERE e.occurred_at <= $evidence_until
      AND e.run_id IN (SELECT run_id FROM runs)
      AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign',
                       'account.create', 'account.activate', 'app.assign')
),
-- Per account: was it ever listed, and the active spell that the termination must end.
spells AS (
    SELECT o.person_id, o.termination_date, o.app, o.account_id,
           coalesce(o.user_name, arg_max(v.user_name, v.valid_from), o.account_id) AS account,
           count(v.valid_from) AS listed,
           coalesce(bool_or(v.active), false) AS ever_listed_active,
           min(v.valid_from) FILTER (
               WHERE v.active AND (v.valid_to IS NULL OR v.valid_to > o.termination_date)
           ) AS listed_spell_from
    FROM accounts_owned o
    LEFT JOIN versions v ON v.app = o.app AND v.account_id = o.account_id
    GROUP BY o.person_id, o.termination_date, o.app, o.account_id, o.user_name
),
activations AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           max(e.occurred_at) FILTER (WHERE e.occurred_at <= s.termination_date) AS before_t,
           min(e.occurred_at) FILTER (WHERE e.occurred_at > s.termination_date) AS after_t
    FROM spells s
    JOIN events_used e
      ON e.app_key = lower(s.app)
     AND (e.account_id = s.account_id OR (e.account_id IS NULL AND e.person_id = s.person_id))
    WHERE NOT e.inferred
      AND e.action IN ('account.create', 'account.activate', 'app.assign')
    GROUP BY ALL
),
-- Reported removals around the termination: a removal reported after it proves the account
-- was active until then, even when no listing or activation in the window showed it.
reported_removals AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           min(e.occurred_at) FILTER (WHERE e.occurred_at > s.termination_date) AS first_after,
           max(e.occurred_at) FILTER (WHERE e.occurred_at <= s.termination_date) AS last_before
    FROM spells s
    JOIN events_used e
      ON e.app_key = lower(s.app)
     AND (e.account_id = s.account_id OR (e.account_id IS NULL AND e.person_id = s.person_id))
    WHERE NOT e.inferred AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign')
    GROUP BY ALL
),
spell_starts AS (
    SELECT s.*, rr.last_before,
           -- A reported activation before the termination starts the spell the termination
           -- must end; else the first active listing covering or after it; else the first
           -- reported activation after it.
           coalesce(a.before_t, s.listed_spell_from, a.after_t,
                    CASE WHEN rr.first_after IS NOT NULL THEN s.termination_date END) AS spell_from
    FROM spells s
    LEFT JOIN activations a USING (person_id, termination_date, app, account_id)
    LEFT JOIN reported_removals rr USING (person_id, termination_date, app, account_id)
),
-- Removal evidence: the first reported and first inferred removal event in the spell, and the
-- first listing end after the spell began (with the last full listing that showed it active).
removal AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           min(e.occurred_at) FILTER (WHERE NOT e.inferred) AS reported_at,
           arg_min(e.action || ' reported by ' || e.source, e.occurred_at)
               FILTER (WHERE NOT e.inferred) AS reported_by,
           min(e.occurred_at) FILTER (WHERE e.inferred) AS inferred_at
    FROM spell_starts s
    JOIN events_used e
      ON e.app_key = lower(s.app)
     AND (e.account_id = s.account_id OR (e.account_id IS NULL AND e.person_id = s.person_id))
    WHERE s.spell_from IS NOT NULL AND e.occurred_at >= s.spell_from
      AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign')
    GROUP BY ALL
),
listing_end AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           min(n.ended_at) AS ended_at,
           arg_min(n.last_seen_active, n.ended_at) AS last_seen_active
    FROM spell_starts s
    JOIN ends n ON n.app = s.app AND n.account_id = s.account_id AND n.ended_at > s.spell_from
    WHERE s.spell_from IS NOT NULL
    GROUP BY ALL
),
-- For an account inactive from before the termination: when its last active spell ended.
prior_end AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           max(n.ended_at) AS ended_at,
           arg_max(n.active_from, n.ended_at) AS active_from
    FROM spell_starts s
    JOIN ends n ON n.app = s.app AND n.account_id = s.account_id
    WHERE s.spell_from IS NULL
    GROUP BY ALL
),
prior_removal AS (
    SELECT p.person_id, p.termination_date, p.app, p.account_id,
           min(e.occurred_at) AS reported_at
    FROM prior_end p
    JOIN events_used e
      ON e.app_key = lower(p.app)
     AND (e.account_id = p.account_id OR (e.account_id IS NULL AND e.person_id = p.person_id))
    WHERE NOT e.inferred AND e.occurred_at BETWEEN p.active_from AND p.ended_at
      AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign')
    GROUP BY ALL
),
-- Monitoring's own verdict: an orphan or late-deprovisioning finding raised for the account
-- after this termination (and before any rehire), whatever its status now.
finding AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           arg_min(f.kind || '/' || f.subkind || ' ' || f.finding_id || ' on '
                   || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status '
                   || f.status
                   || CASE WHEN f.status = 'accepted' THEN
                          ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                          || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                          || coalesce(' until '
                             || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
                      ELSE '' END || ')',
                   f.first_seen_at) AS finding
    FROM spell_starts s
    LEFT JOIN rehires r USING (person_id, termination_date)
    JOIN findings f ON f.app = s.app AND f.account_id = s.account_id
    WHERE ((f.kind = 'orphan' AND f.subkind = 'terminated_active')
           OR (f.kind = 'sla' AND f.subkind = 'deprovision_late'))
      AND f.first_seen_at >= s.termination_date AND f.first_seen_at <= $evidence_until
      AND (r.rehired_at IS NULL OR f.first_seen_at < r.rehired_at)
    GROUP BY ALL
),
judged AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id, s.account,
           s.spell_from, r.rehired_at, f.finding,
           m.reported_by,
           CASE
               WHEN s.spell_from IS NULL AND NOT s.ever_listed_active
                    AND s.last_before IS NULL THEN 'never_active'
               WHEN s.spell_from IS NULL THEN 'before'
               -- First seen active only after the rehire: that access is the new employment's.
               WHEN r.rehired_at IS NOT NULL AND s.spell_from >= r.rehired_at THEN 'after_rehire'
               WHEN r.rehired_at IS NOT NULL AND r.rehired_at < coalesce(
                       least(m.reported_at, l.last_seen_active), $evidence_until)
                   THEN 'rehired'
               WHEN m.reported_at IS NOT NULL
                    AND (m.reported_at <= least(l.ended_at, m.inferred_at)
                         OR least(l.ended_at, m.inferred_at) IS NULL) THEN 'reported'
               WHEN least(l.ended_at, m.inferred_at) IS NOT NULL THEN 'listing'
               ELSE 'active'
           END AS outcome,
           m.reported_at,
           least(l.ended_at, m.inferred_at) AS observed_at,
           least(l.last_seen_active, m.inferred_at) AS last_seen_active,
           coalesce(pr.reported_at, p.ended_at, s.last_before) AS ended_before
    FROM spell_starts s
    LEFT JOIN rehires r USING (person_id, termination_date)
    LEFT JOIN removal m USING (person_id, termination_date, app, account_id)
    LEFT JOIN listing_end l USING (person_id, termination_date, app, account_id)
    LEFT JOIN prior_end p USING (person_id, termination_date, app, account_id)
    LEFT JOIN prior_removal pr USING (person_id, termination_date, app, account_id)
    LEFT JOIN finding f USING (person_id, termination_date, app, account_id)
),
timed AS (
    SELECT j.*,
           CASE j.outcome
               WHEN 'before' THEN j.ended_before
               WHEN 'reported' THEN j.reported_at
               WHEN 'listing' THEN j.observed_at
           END AS deactivated_at,
           -- The instant the SLA or grace period is judged on (the earliest one possible).
           CASE j.outcome
               WHEN 'reported' THEN j.reported_at
               WHEN 'listing' THEN j.last_seen_active
               WHEN 'rehired' THEN j.rehired_at
               WHEN 'active' THEN CAST($evidence_until AS TIMESTAMPTZ)
           END AS judged_at
    FROM judged j
),
rows_ AS (
    SELECT t.*,
           round((epoch_us(t.deactivated_at) - epoch_us(t.termination_date)) / 3600e6, 2)
               AS latency_hours,
           (epoch_us(t.judged_at) - epoch_us(t.termination_date)) / 3600e6 AS judged_hours,
           (epoch_us(t.last_seen_active) - epoch_us(t.termination_date)) / 3600e6 AS lower_hours
    FROM timed t
),
verdicts AS (
    SELECT r.*,
           CASE r.outcome
               WHEN 'reported' THEN r.judged_hours > $deprovision_sla_hours
               WHEN 'listing' THEN r.judged_hours > $deprovision_sla_hours
               WHEN 'rehired' THEN r.judged_hours > $grace_hours
               WHEN 'active' THEN r.judged_hours > $grace_hours
               ELSE false
           END AS late
    FROM rows_ r
),
-- Sentence fragments: "3.0 h after" / "2.5 h before".
worded AS (
    SELECT v.*,
           printf('%.1f h ', round(abs(v.latency_hours), 1))
               || CASE WHEN v.latency_hours < 0 THEN 'before' ELSE 'after' END AS removed_when,
           printf('%.1f h ', round(abs(v.lower_hours), 1))
               || CASE WHEN v.lower_hours < 0 THEN 'before' ELSE 'after' END AS lower_when,
           printf('%.1f h', round(v.judged_hours, 1)) AS judged_text,
           printf('%g h', CAST($deprovision_sla_hours AS DOUBLE)) AS sla_text,
           printf('%g h', CAST($grace_hours AS DOUBLE)) AS grace_text
    FROM verdicts v
)
SELECT
    w.person_id,
    t.display_name,
    w.termination_date,
    w.app,
    w.account,
    w.deactivated_at,
    w.latency_hours,
    CASE WHEN w.late OR w.finding IS NOT NULL THEN 'exception' ELSE 'ok' END AS status,
    CASE w.outcome
        WHEN 'never_active' THEN 'Never observed active in a listing or a reported event; '
            || 'there was no access to remove.'
        WHEN 'before' THEN 'Access had already ended before the termination, at '
            || strftime(timezone('UTC', w.deactivated_at), '%Y-%m-%d %H:%M') || ' UTC.'
        WHEN 'reported' THEN 'Removed ' || w.removed_when || ' the termination ('
            || w.reported_by || '), '
            || CASE WHEN w.late THEN 'later than' ELSE 'within' END
            || ' the ' || w.sla_text || ' SLA.'
        WHEN 'listing' THEN 'No removal event was reported; last listed active '
            || w.lower_when || ' the termination and first listed inactive or absent '
            || w.removed_when || ' it, so '
            || CASE WHEN w.late THEN 'even the earliest possible removal is later than'
                    ELSE 'the earliest possible removal is within' END
            || ' the ' || w.sla_text || ' SLA.'
        WHEN 'after_rehire' THEN 'First observed active on '
            || strftime(timezone('UTC', w.spell_from), '%Y-%m-%d')
            || ', after the rehire on ' || strftime(timezone('UTC', w.rehired_at), '%Y-%m-%d')
            || '; no evidence that it was active between the termination and the rehire.'
        WHEN 'rehired' THEN 'Still active when the person was rehired on '
            || strftime(timezone('UTC', w.rehired_at), '%Y-%m-%d') || ', ' || w.judged_text
            || ' after the termination, '
            || CASE WHEN w.late THEN 'past' ELSE 'within' END
            || ' the ' || w.grace_text || ' grace period.'
        ELSE 'Still active at the evidence cut-off '
            || strftime(timezone('UTC', CAST($evidence_until AS TIMESTAMPTZ)), '%Y-%m-%d %H:%M')
            || ' UTC, ' || w.judged_text || ' after the termination, '
            || CASE WHEN w.late THEN 'past the ' || w.grace_text || ' grace period.'
                    ELSE 'within the ' || w.grace_text
                         || ' grace period: removal not yet due.' END
    END
    || CASE WHEN w.finding IS NOT NULL THEN ' Monitoring raised ' || w.finding || '.' ELSE '' END
        AS reason
FROM worded w
JOIN terminations t USING (person_id, termination_date)
UNION ALL
SELECT t.person_id, t.display_name, t.termination_date, NULL, NULL, NULL, NULL, 'ok',
       'No app account belonged to this person.'
FROM terminations t
WHERE NOT EXISTS (
    SELECT 1 FROM accounts_owned o
    WHERE o.person_id = t.person_id AND o.termination_date = t.termination_date)
ORDER BY termination_date, person_id, app NULLS FIRST, account
