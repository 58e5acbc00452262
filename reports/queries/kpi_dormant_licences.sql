-- Dormant licences at the data cut-off, with the licence cost they could give back: the
-- management summary's dormant-licence table and chart.
--
-- One row per app with an active account or an open dormant finding at $as_of, then a total
-- row (app NULL):
--   app                    the app
--   active_accounts        distinct accounts listed active at $as_of (read from the versioned
--                          accounts table; a listing without an active flag counts as active)
--   dormant_accounts       distinct accounts with a dormant/no_login finding open at $as_of:
--                          first seen by then and not resolved by then; an accepted risk stays
--                          open, since the seat is still paid
--   cost_per_seat_month    the app's licence cost per seat per month ([policy] license_cost,
--                          matched case-insensitively like the detection); NULL when unknown
--   reclaimable_per_month  dormant_accounts x cost_per_seat_month, rounded to cents; NULL when
--                          the cost is unknown
--   reclaimable_per_year   dormant_accounts x cost_per_seat_month x 12, rounded to cents
-- The total row sums the counts and the reclaimable cost of the apps whose cost is known (NULL
-- when none is); it has no cost per seat. Apps are ordered by reclaimable cost per month, highest
-- first, unknown last, then by name; the total row comes last.
--
-- Parameters
--   $as_of  data cut-off: accounts and findings as the store knew them at this instant
WITH
bounds AS (
    SELECT CAST($as_of AS TIMESTAMPTZ) AS as_of
),
accounts_at AS (
    SELECT a.source, a.app, a.account_id
    FROM accounts a, bounds b
    WHERE a.valid_from <= b.as_of AND (a.valid_to IS NULL OR a.valid_to > b.as_of)
      AND coalesce(a.active, true)
),
-- An app listed by more than one source may hold the same account twice; only there is a
-- distinct count needed (a source's versions of one account never overlap).
shared_apps AS (
    SELECT app FROM accounts_at GROUP BY app HAVING count(DISTINCT source) > 1
),
active AS (
    SELECT a.app, count(*) AS n
    FROM accounts_at a ANTI JOIN shared_apps s USING (app)
    GROUP BY a.app
    UNION ALL
    SELECT a.app, count(DISTINCT a.account_id)
    FROM accounts_at a SEMI JOIN shared_apps s USING (app)
    GROUP BY a.app
),
dormant AS (
    SELECT f.app, count(DISTINCT f.account_id) AS n
    FROM findings f, bounds b
    WHERE f.kind = 'dormant' AND f.subkind = 'no_login'
      AND f.first_seen_at <= b.as_of
      AND (f.resolved_at IS NULL OR f.resolved_at > b.as_of)
    GROUP BY f.app
),
cost AS (
    SELECT lower(app) AS app_key, max(cost) AS cost FROM _license_cost GROUP BY 1
),
per_app AS (
    SELECT app,
           coalesce(a.n, 0) AS active_accounts,
           coalesce(d.n, 0) AS dormant_accounts,
           c.cost AS cost_per_seat_month,
           round(coalesce(d.n, 0) * c.cost, 2) AS reclaimable_per_month,
           round(coalesce(d.n, 0) * c.cost * 12, 2) AS reclaimable_per_year
    FROM active a
    FULL JOIN dormant d USING (app)
    LEFT JOIN cost c ON c.app_key = lower(app)
)
SELECT app, active_accounts, dormant_accounts, cost_per_seat_month, reclaimable_per_month,
       reclaimable_per_year
FROM (
    SELECT *, 0 AS total FROM per_app
    UNION ALL
    SELECT NULL, CAST(coalesce(sum(active_accounts), 0) AS BIGINT),
           CAST(coalesce(sum(dormant_accounts), 0) AS BIGINT), NULL,
           round(sum(reclaimable_per_month), 2), round(sum(reclaimable_per_year), 2), 1
    FROM per_app
)
ORDER BY total, reclaimable_per_month DESC NULLS LAST, app
