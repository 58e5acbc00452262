-- Deprovisioning latency by app: how long after a termination in the period its app accounts
-- were removed. Drawn from the same rows as deprovisioning.sql (the CC6.2 population) through
-- the same included block, so every figure reconciles with that population.
--
-- A row per app with at least one account in the population, then a total row (app empty).
--   removed           accounts whose removal after the termination was measured: reported
--                     by the source, or bounded by the listings (outcomes reported, listing)
--   p50_hours ...     percentiles of their latency (hours from termination to removal, as in
--                     the population's Hours column: for a listing-bounded removal, the first
--                     listing that showed it inactive or absent), nearest-rank: the smallest
--                     latency that at least that share of the removals did not exceed
--   max_hours         the longest
--   late              removals later than the SLA, judged on the earliest instant possible
--   active            accounts not removed and past the grace period at the evidence cut-off
--                     (exceptions of the population too, without a latency to measure)
--
-- Parameters
--   $period_start, $period_end  half-open UTC period that the termination dates fall in
--   $as_of                      data cut-off: HR records as the store knew them at this instant
--   $evidence_until             removal evidence (listings, events) is read up to here
--   $grace_hours                an account still active this long after termination: active
--   $deprovision_sla_hours      an account removed later than this after termination: late
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- include: sla_deprovision_late.sql deprovisioning
,
measured AS (
    SELECT app,
           CASE WHEN outcome IN ('reported', 'listing') THEN latency_hours END AS latency_hours,
           outcome IN ('reported', 'listing') AND late AS late_removal,
           outcome = 'active' AND late AS active_past_grace
    FROM verdicts
)
SELECT
    app,
    count(latency_hours) AS removed,
    quantile_disc(latency_hours, 0.5) AS p50_hours,
    quantile_disc(latency_hours, 0.9) AS p90_hours,
    quantile_disc(latency_hours, 0.95) AS p95_hours,
    max(latency_hours) AS max_hours,
    count(*) FILTER (WHERE late_removal) AS late,
    count(*) FILTER (WHERE active_past_grace) AS active
FROM measured
GROUP BY GROUPING SETS ((app), ())
ORDER BY app NULLS LAST
