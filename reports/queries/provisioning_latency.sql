-- Time to provision by app: hours from the later of the hire date and the IdP's assignment
-- of the app to the account's creation, over the accounts of the provisioning population
-- (provisioning.sql, the CC6.2 joiners) created in the period. The population block below is
-- provisioning.sql's, verbatim (a test compares them), so every figure reconciles with it.
--
-- A row per app with an account created in the period, then a total row (app empty).
--   created           accounts created in the period
--   measured          those with a non-negative time to provision (the owner has a hire date
--                     or an IdP assignment to measure from; service accounts, unmatched
--                     accounts and owners with neither are not measured)
--   p50_hours ...     percentiles of the measured hours, nearest-rank (quantile_disc): the
--                     smallest time that at least that share of the measured accounts did not
--                     exceed
--   max_hours         the longest
--   before            accounts created before the later of the hire date and the assignment
--                     (a negative time): not a provisioning time, so counted here and left out
--                     of the percentiles (the population shows each; created before the hire
--                     date is an exception there)
--
-- Parameters
--   $period_start, $period_end  half-open UTC period that the creation instants fall in
--   $evidence_until             listings, HR records, assignments and findings are read up to
--                               here
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- include: provisioning.sql population
,
provisioned AS (
    SELECT app, hours_to_provision FROM measured WHERE in_period
)
SELECT
    app,
    count(*) AS created,
    count(*) FILTER (WHERE hours_to_provision >= 0) AS measured,
    quantile_disc(hours_to_provision, 0.5) FILTER (WHERE hours_to_provision >= 0) AS p50_hours,
    quantile_disc(hours_to_provision, 0.9) FILTER (WHERE hours_to_provision >= 0) AS p90_hours,
    quantile_disc(hours_to_provision, 0.95) FILTER (WHERE hours_to_provision >= 0)
        AS p95_hours,
    max(hours_to_provision) FILTER (WHERE hours_to_provision >= 0) AS max_hours,
    count(*) FILTER (WHERE hours_to_provision < 0) AS before
FROM provisioned
GROUP BY GROUPING SETS ((app), ())
ORDER BY app NULLS LAST
