-- The deprovisioning judgement of every leaver's app accounts, which the CC6.2 population
-- (deprovisioning.sql), its removal-latency table (deprovisioning_latency.sql) and the
-- termination reconciliation (reconciliation.sql) all read: each names it in a
-- `-- prepare: deprovisioning_verdicts.sql` line, and a build runs it once into the temp
-- table _deprovisioning_verdicts (reports/prepare.py). To re-run one of them by hand, run
-- this first: CREATE TEMP TABLE _deprovisioning_verdicts AS <this query>.
--
-- One row per (termination in the period, app account that belonged to the person), plus one
-- row per terminated person with no app account (app, account_id and outcome empty).
-- Terminations are HR's, and the IdP's deprovisioning of people it knows without an HR record
-- (idp_only); from_hr says which. rehired_at is the person's rehire after the termination.
-- The columns of an account row are the sla_deprovision_late detection's own: the block
-- included below is evidence/detections/sla_deprovision_late.sql's, verbatim, read through
-- `bounds`; outcome is never_active | before | after_rehire | rehired | reported | listing |
-- active, and `late` is judged on the SLA (reported, listing) or the grace period (rehired,
-- active).
--
-- Parameters
--   $period_start, $period_end  half-open UTC period that the termination dates fall in
--   $as_of                      data cut-off: HR records as the store knew them at this instant
--   $evidence_until             removal evidence (listings, events, findings) is read up to here
--   $grace_hours                an account still active this long after termination: late
--   $deprovision_sla_hours      an account removed later than this after termination: late
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- include: sla_deprovision_late.sql deprovisioning
SELECT t.person_id, t.termination_date, t.display_name,
       EXISTS (SELECT 1 FROM hr h
               WHERE h.person_id = t.person_id AND h.termination_date = t.termination_date)
           AS from_hr,
       r.rehired_at,
       w.* EXCLUDE (person_id, termination_date, rehired_at)
FROM terminations t
LEFT JOIN rehires r USING (person_id, termination_date)
LEFT JOIN worded w USING (person_id, termination_date)
