-- Deprovisioning latency by app: how long after a termination in the period its app accounts
-- were removed. Drawn from the rows of the CC6.2 population (deprovisioning.sql), both reading
-- deprovisioning_verdicts.sql's judgement (run first, into _deprovisioning_verdicts), so every
-- figure reconciles with that population.
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
-- Parameters: none of its own; deprovisioning_verdicts.sql's
--   period_start, period_end    half-open UTC period that the termination dates fall in
--   as_of                       data cut-off: HR records as the store knew them at this instant
--   evidence_until              removal evidence (listings, events) is read up to here
--   grace_hours                 an account still active this long after termination: active
--   deprovision_sla_hours       an account removed later than this after termination: late
-- prepare: deprovisioning_verdicts.sql
WITH
measured AS (
    SELECT app,
           CASE WHEN outcome IN ('reported', 'listing') THEN latency_hours END AS latency_hours,
           outcome IN ('reported', 'listing') AND late AS late_removal,
           outcome = 'active' AND late AS active_past_grace
    FROM _deprovisioning_verdicts
    WHERE app IS NOT NULL
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
