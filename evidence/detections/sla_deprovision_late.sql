-- id: sla_deprovision_late
-- kind: sla
-- subkind: deprovision_late
-- severity: medium
-- controls: CC6.2, A.5.18, A.6.5, 164.308(a)(3)(ii)(C)
-- parameters: deprovision_sla_hours, grace_hours
-- description: An app account removed after its owner's termination, but later than deprovision_sla_hours after it.
-- Measured per app account: deactivating the person at the IdP does not remove an app account.
-- The removal instant is the earliest successful removal the source reported
-- (account.deactivate, account.delete, app.unassign; an IdP's event counts for the person's
-- account in the app it names; a failed or skipped attempt is none); an inferred event only
-- bounds it from above, and not at all when the app's listing at or after it still showed the
-- account active. Without a reported removal it lies
-- between the last full listing that showed the account active and the first that showed it
-- inactive or absent, and it is late only when even that earlier bound is past the SLA.
-- Not reported: an account never observed active, one whose access had ended before the
-- termination, one still active (orphan/terminated_active), and one still active when the
-- person was rehired (no removal happened: the access passed to the new employment).
-- One finding per account and person: the latest of its late terminations.
--
-- The block between "shared: deprovisioning" and "end shared" is the SOC 2 report's
-- deprovisioning logic too: reports/queries/deprovisioning_verdicts.sql includes it verbatim,
-- with its own `bounds` (the report period, data cut-off and evidence cut-off), and the CC6.2
-- population, its latency table and the reconciliation read that. Here the period is every
-- termination before now, and records and evidence are read up to now.
WITH
bounds AS (
    SELECT CAST('-infinity' AS TIMESTAMPTZ) AS period_start,
           CAST($now AS TIMESTAMPTZ) AS period_end,
           CAST($now AS TIMESTAMPTZ) AS as_of,
           CAST($now AS TIMESTAMPTZ) AS evidence_until
),
-- shared: deprovisioning
-- One row per (termination in the period, app account that belonged to the person); reads
-- `bounds` (period_start, period_end: half-open period the terminations fall in; as_of: HR
-- records as known then; evidence_until: removal evidence read up to then) and the parameters
-- grace_hours and deprovision_sla_hours. `verdicts` is the result: outcome is never_active |
-- before | after_rehire | rehired | reported | listing | active, with `late` judged on the
-- SLA (reported, listing) or the grace period (rehired, active).
-- shared: deprovision_timing
-- (no parameters up to `timed`: the view v_deprovision_latency includes these lines)
-- shared: counted_runs
runs AS (
    SELECT run_id, source, mode, as_of
    FROM sync_runs
    WHERE status = 'ok' AND as_of <= (SELECT evidence_until FROM bounds)
),
-- end shared: counted_runs
-- Latest version of each HR record known at the cut-off. A record that a later export dropped
-- keeps its last version, so its termination stays in the population.
hr AS (
    SELECT person_id, hire_date, display_name, termination_date
    FROM people
    WHERE valid_from <= (SELECT as_of FROM bounds) AND coalesce(employment_type, '') <> 'idp_only'
    QUALIFY row_number() OVER (
        PARTITION BY source, person_id, hire_date ORDER BY valid_from DESC) = 1
),
-- People the IdP knows without an HR record (idp_only) end when the IdP deprovisions or
-- deletes them (canonical lifecycle): at the status change the IdP reports, else when the
-- listings first showed the unbroken end (Entra records no instant of a disable), as the
-- matcher dates it.
idp_versions AS (
    SELECT i.source, i.user_id, i.valid_from, i.status_changed_at,
           coalesce(i.display_name, i.login) AS display_name,
           coalesce(i.lifecycle IN ('deprovisioned', 'deleted'), false) AS ended
    FROM idp_users i
    JOIN idp_user_owners o ON o.user_id = i.user_id AND o.person_id IS NULL
    WHERE i.valid_from <= (SELECT as_of FROM bounds)
),
idp_only_ends AS (
    SELECT v.user_id AS person_id,
           least(v.status_changed_at, (
               SELECT min(e.valid_from) FROM idp_versions e
               WHERE e.source = v.source AND e.user_id = v.user_id AND e.ended
                 AND e.valid_from > coalesce((
                     SELECT max(x.valid_from) FROM idp_versions x
                     WHERE x.source = v.source AND x.user_id = v.user_id AND NOT x.ended),
                     '-infinity'))) AS termination_date,
           v.display_name
    FROM idp_versions v
    WHERE v.ended
    QUALIFY row_number() OVER (PARTITION BY v.source, v.user_id ORDER BY v.valid_from DESC) = 1
),
terminations AS (
    SELECT person_id, termination_date, max(display_name) AS display_name
    FROM (SELECT person_id, termination_date, display_name FROM hr
          UNION ALL
          SELECT person_id, termination_date, display_name FROM idp_only_ends)
    WHERE termination_date >= (SELECT period_start FROM bounds)
      AND termination_date < (SELECT period_end FROM bounds)
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
-- An account the listings never showed (only events name it) is still named by its own
-- events: (app, account id) named with the person in an event of the account's.
named AS (
    SELECT DISTINCT t.person_id, t.termination_date, e.app, e.account_id
    FROM terminations t
    JOIN events e ON e.person_id = t.person_id
    WHERE e.action LIKE 'account.%' AND e.app IS NOT NULL AND e.account_id IS NOT NULL
      AND e.run_id IN (SELECT run_id FROM runs)
),
owned AS (
    SELECT t.person_id, t.termination_date, o.app, o.account_id, o.user_name
    FROM terminations t
    JOIN account_owners o ON o.person_id = t.person_id
    WHERE o.matched_by <> 'service_account'
    UNION
    SELECT n.person_id, n.termination_date, n.app, n.account_id, NULL
    FROM named n
    LEFT JOIN service s ON s.app = n.app AND s.account_id = n.account_id
    LEFT JOIN account_owners o
      ON o.app = n.app AND o.account_id = n.account_id AND o.person_id = n.person_id
    WHERE s.account_id IS NULL AND o.account_id IS NULL
),
accounts_owned AS (
    SELECT person_id, termination_date, app, account_id, max(user_name) AS user_name
    FROM owned
    GROUP BY ALL
),
-- Listings up to the evidence cut-off; a version closed after it counts as still open.
versions AS (
    SELECT a.app, a.account_id, a.source, a.user_name, a.valid_from,
           CASE WHEN a.valid_to <= (SELECT evidence_until FROM bounds) THEN a.valid_to END
               AS valid_to,
           coalesce(a.active, true) AS active
    FROM accounts a
    WHERE a.valid_from <= (SELECT evidence_until FROM bounds)
      AND EXISTS (
          SELECT 1 FROM accounts_owned o WHERE o.app = a.app AND o.account_id = a.account_id)
),
-- Each time a listing stopped showing an account active: an active version closed and no
-- active version of the same source took over at that instant (inactive, or gone). The last
-- full listing of that source before the close showed it active (if it fell in the version).
closed AS (
    SELECT v.*
    FROM versions v
    WHERE v.active AND v.valid_to IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM versions n
          WHERE n.app = v.app AND n.account_id = v.account_id AND n.source = v.source
            AND n.valid_from = v.valid_to AND n.active)
),
full_runs AS (
    SELECT source, as_of FROM runs WHERE mode = 'full'
),
ends AS (
    SELECT c.app, c.account_id, c.source, c.valid_from AS active_from, c.valid_to AS ended_at,
           greatest(c.valid_from, CASE WHEN r.as_of >= c.valid_from THEN r.as_of END)
               AS last_seen_active
    FROM closed c
    ASOF LEFT JOIN full_runs r ON r.source = c.source AND r.as_of < c.valid_to
),
-- Removal and activation events, with the IdP's names resolved: an IdP reports the app by its
-- label (matched case-insensitively) and the person by its IdP user id, not the app account.
-- Only a reported event that succeeded ended or began access: a failed or skipped attempt
-- (Entra provisioningStatusInfo.status, Okta outcome.result) changed nothing.
events_used AS (
    SELECT lower(e.app) AS app_key, e.account_id, coalesce(u.person_id, e.person_id) AS person_id,
           e.action, e.source, e.occurred_at, e.inferred
    FROM events e
    LEFT JOIN idp_user_owners u ON u.user_id = e.person_id
    WHERE e.occurred_at <= (SELECT evidence_until FROM bounds)
      AND e.run_id IN (SELECT run_id FROM runs)
      AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign',
                       'account.create', 'account.activate', 'app.assign')
      AND (e.inferred OR e.outcome = 'success')
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
-- The events of each account: its own (app and account id), and those an IdP reported for
-- its person in its app (no account id). Two equi-joins, not one join on an OR; the IdP's
-- events are first narrowed to the terminated people (a few of millions of assignments).
account_events AS MATERIALIZED (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           e.action, e.source, e.occurred_at, e.inferred
    FROM spells s
    JOIN events_used e ON e.app_key = lower(s.app) AND e.account_id = s.account_id
    UNION ALL
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           e.action, e.source, e.occurred_at, e.inferred
    FROM spells s
    JOIN events_used e ON e.app_key = lower(s.app) AND e.person_id = s.person_id
    WHERE e.account_id IS NULL
      AND e.person_id IN (SELECT person_id FROM terminations)
),
activations AS (
    SELECT person_id, termination_date, app, account_id,
           max(occurred_at) FILTER (WHERE occurred_at <= termination_date) AS before_t,
           min(occurred_at) FILTER (WHERE occurred_at > termination_date) AS after_t
    FROM account_events
    WHERE NOT inferred AND action IN ('account.create', 'account.activate', 'app.assign')
    GROUP BY ALL
),
-- Reported removals around the termination: a removal reported after it proves the account
-- was active until then, even when no listing or activation in the window showed it.
reported_removals AS (
    SELECT person_id, termination_date, app, account_id,
           min(occurred_at) FILTER (WHERE occurred_at > termination_date) AS first_after,
           max(occurred_at) FILTER (WHERE occurred_at <= termination_date) AS last_before
    FROM account_events
    WHERE NOT inferred AND action IN ('account.deactivate', 'account.delete', 'app.unassign')
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
-- An inferred removal only bounds the removal from above, and not even that when the app's
-- own full listing at or after its instant still showed the account active in the same spell
-- (the IdP dropped an assignment; the app kept the account): no removal happened then.
inferred_removals AS (
    SELECT DISTINCT person_id, termination_date, app, account_id, occurred_at
    FROM account_events
    WHERE inferred AND action IN ('account.deactivate', 'account.delete', 'app.unassign')
),
-- The last full listing inside each active version of those accounts (one ASOF lookup per
-- version, not one row per later run).
listed_until AS (
    SELECT v.app, v.account_id, v.valid_from, v.valid_to, r.as_of AS last_listed
    FROM versions v
    ASOF JOIN full_runs r
      ON r.source = v.source AND r.as_of < coalesce(v.valid_to, CAST('infinity' AS TIMESTAMPTZ))
    WHERE v.active
      AND EXISTS (SELECT 1 FROM inferred_removals i
                  WHERE i.app = v.app AND i.account_id = v.account_id)
),
contradicted AS (
    SELECT DISTINCT i.person_id, i.termination_date, i.app, i.account_id, i.occurred_at
    FROM inferred_removals i
    JOIN listed_until v ON v.app = i.app AND v.account_id = i.account_id
     AND v.valid_from <= i.occurred_at AND (v.valid_to IS NULL OR v.valid_to > i.occurred_at)
     AND v.last_listed >= i.occurred_at
),
-- Removal evidence: the first reported and first inferred removal event in the spell, and the
-- first listing end after the spell began (with the last full listing that showed it active).
removal AS (
    SELECT e.person_id, e.termination_date, e.app, e.account_id,
           min(e.occurred_at) FILTER (WHERE NOT e.inferred) AS reported_at,
           arg_min(e.action || ' reported by ' || e.source, e.occurred_at)
               FILTER (WHERE NOT e.inferred) AS reported_by,
           min(e.occurred_at) FILTER (WHERE e.inferred AND c.app IS NULL) AS inferred_at
    FROM spell_starts s
    JOIN account_events e USING (person_id, termination_date, app, account_id)
    LEFT JOIN contradicted c USING (person_id, termination_date, app, account_id, occurred_at)
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
    JOIN account_events e USING (person_id, termination_date, app, account_id)
    WHERE NOT e.inferred AND e.occurred_at BETWEEN p.active_from AND p.ended_at
      AND e.action IN ('account.deactivate', 'account.delete', 'app.unassign')
    GROUP BY ALL
),
judged AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id, s.account,
           s.spell_from, r.rehired_at,
           m.reported_by,
           CASE
               WHEN s.spell_from IS NULL AND NOT s.ever_listed_active
                    AND s.last_before IS NULL THEN 'never_active'
               WHEN s.spell_from IS NULL THEN 'before'
               -- First seen active only after the rehire: that access is the new employment's.
               WHEN r.rehired_at IS NOT NULL AND s.spell_from >= r.rehired_at THEN 'after_rehire'
               WHEN r.rehired_at IS NOT NULL AND r.rehired_at < coalesce(
                       least(m.reported_at, l.last_seen_active),
                       (SELECT evidence_until FROM bounds))
                   THEN 'rehired'
               WHEN m.reported_at IS NOT NULL
                    AND (m.reported_at <= least(l.ended_at, m.inferred_at)
                         OR least(l.ended_at, m.inferred_at) IS NULL) THEN 'reported'
               WHEN least(l.ended_at, m.inferred_at) IS NOT NULL THEN 'listing'
               ELSE 'active'
           END AS outcome,
           m.reported_at,
           m.inferred_at,
           l.ended_at AS listing_ended_at,
           least(l.ended_at, m.inferred_at) AS observed_at,
           least(l.last_seen_active, m.inferred_at) AS last_seen_active,
           coalesce(pr.reported_at, p.ended_at, s.last_before) AS ended_before
    FROM spell_starts s
    LEFT JOIN rehires r USING (person_id, termination_date)
    LEFT JOIN removal m USING (person_id, termination_date, app, account_id)
    LEFT JOIN listing_end l USING (person_id, termination_date, app, account_id)
    LEFT JOIN prior_end p USING (person_id, termination_date, app, account_id)
    LEFT JOIN prior_removal pr USING (person_id, termination_date, app, account_id)
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
               WHEN 'active' THEN (SELECT evidence_until FROM bounds)
           END AS judged_at
    FROM judged j
),
-- end shared: deprovision_timing
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
-- end shared: deprovisioning
,
-- Deprovisioning that happened, late. One finding per account and person: its latest
-- late termination (a person terminated twice may have been removed late twice).
found_late AS (
    SELECT w.*, t.display_name
    FROM worded w
    JOIN terminations t USING (person_id, termination_date)
    WHERE w.outcome IN ('reported', 'listing') AND w.late
    QUALIFY row_number() OVER (
        PARTITION BY w.app, w.account_id, w.person_id ORDER BY w.termination_date DESC) = 1
)
SELECT
    l.app,
    l.account_id,
    l.account,
    l.person_id,
    NULL AS entitlement,
    NULL AS rule,
    CASE l.outcome
        WHEN 'reported' THEN format(
            'Account {} in {} was removed {} its owner {} was terminated on {} ({}), later than '
            || 'the {} SLA.',
            l.account, l.app, l.removed_when, l.person_id,
            strftime(timezone('UTC', l.termination_date), '%Y-%m-%d'), l.reported_by, l.sla_text)
        ELSE format(
            'Account {} in {} had no reported removal: last listed active {} its owner {} was '
            || 'terminated on {} and first listed inactive or absent {} it, so even the earliest '
            || 'possible removal is later than the {} SLA.',
            l.account, l.app, l.lower_when, l.person_id,
            strftime(timezone('UTC', l.termination_date), '%Y-%m-%d'), l.removed_when,
            l.sla_text)
    END AS explanation,
    json_object(
        'person', json_object('person_id', l.person_id, 'display_name', l.display_name,
                              'termination_date', l.termination_date,
                              'rehired_at', l.rehired_at),
        'account', json_object('app', l.app, 'account_id', l.account_id, 'user_name', l.account),
        'removal', json_object('measured_by', l.outcome,
                               'reported_at', l.reported_at, 'reported_by', l.reported_by,
                               'inferred_at', l.inferred_at,
                               'last_listed_active', l.last_seen_active,
                               'first_listed_inactive', l.listing_ended_at,
                               'deactivated_at', l.deactivated_at),
        'latency_hours', l.latency_hours,
        'earliest_latency_hours', round(l.judged_hours, 2),
        'deprovision_sla_hours', $deprovision_sla_hours
    ) AS evidence
FROM found_late l
