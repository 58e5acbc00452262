-- v_deprovision_latency: per terminated person and app, how long their access outlived the
-- termination, measured as the sla_deprovision_late detection measures it (its lines below):
-- per account, the first successful removal a source reported, else the first listing that
-- showed the account inactive or absent (an upper bound), as of the store's now (the newest
-- as_of of a completed sync). Per app, access ended when its last account's did. status:
--   removed   every account's access ended (access_ended_at, latency_hours; negative when it
--             ended before the termination)
--   active    an account is still active (access_ended_at NULL)
--   rehired   the person was rehired before an account's removal: the access passed to the
--             new employment (access_ended_at NULL)
-- measured_by is how the last-ended account's end is known: reported | listing | before.
-- Accounts never active in the termination's employment are left out (never_active,
-- after_rehire). evidence: per account, [{account_id, account, outcome, deactivated_at}].
CREATE OR REPLACE VIEW v_deprovision_latency AS
WITH
bounds AS (
    SELECT CAST('-infinity' AS TIMESTAMPTZ) AS period_start,
           coalesce(max(as_of), CAST('-infinity' AS TIMESTAMPTZ)) AS period_end,
           coalesce(max(as_of), CAST('-infinity' AS TIMESTAMPTZ)) AS as_of,
           coalesce(max(as_of), CAST('-infinity' AS TIMESTAMPTZ)) AS evidence_until
    FROM sync_runs WHERE status = 'ok' AND kind <> 'detect'
),
-- include: evidence.detections:sla_deprovision_late.sql deprovision_timing
per_app AS (
    SELECT t.person_id, t.termination_date, t.app,
           bool_or(t.outcome = 'active') AS any_active,
           bool_or(t.outcome = 'rehired') AS any_rehired,
           max(t.deactivated_at) AS ended_at,
           arg_max(t.outcome, t.deactivated_at) AS measured_by,
           to_json(list(struct_pack(account_id := t.account_id, account := t.account,
                                    outcome := t.outcome, deactivated_at := t.deactivated_at)
                        ORDER BY t.account_id)) AS evidence
    FROM timed t
    WHERE t.outcome NOT IN ('never_active', 'after_rehire')
    GROUP BY t.person_id, t.termination_date, t.app
)
SELECT a.person_id, n.display_name, a.termination_date AS termination_at, a.app,
       CASE WHEN a.any_active THEN 'active' WHEN a.any_rehired THEN 'rehired' ELSE 'removed' END
           AS status,
       CASE WHEN NOT (a.any_active OR a.any_rehired) THEN a.ended_at END AS access_ended_at,
       CASE WHEN NOT (a.any_active OR a.any_rehired) THEN round(
           (epoch_us(a.ended_at) - epoch_us(a.termination_date)) / 3600e6, 2) END
           AS latency_hours,
       CASE WHEN NOT (a.any_active OR a.any_rehired) THEN a.measured_by END AS measured_by,
       a.evidence
FROM per_app a
JOIN terminations n USING (person_id, termination_date)
