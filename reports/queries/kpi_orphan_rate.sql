-- Orphaned accounts as a share of active accounts, at each month end of the period and at the
-- data cut-off: the management summary's orphan-rate series.
--
-- One row per instant, in time order:
--   measured_at      the instant: the last instant of each calendar month of the period (UTC,
--                    23:59:59.999999 on its last day, or the period's) that lies before $as_of,
--                    then $as_of itself (month ends after the cut-off have no data yet)
--   point            'month end' | 'data cut-off'
--   active_accounts  distinct (app, account_id) listed active at that instant, read from the
--                    versioned accounts table (a listing without an active flag counts as
--                    active, as in the inventory)
--   orphan_accounts  distinct (app, account_id) with an orphan finding (terminated_active or
--                    unmatched) open at that instant: first seen by then and not resolved by
--                    then; an accepted risk stays open
--   rate             orphan_accounts / active_accounts, 0 when no account is active
--
-- Parameters
--   $period_start, $period_end  half-open UTC period whose month ends are measured
--   $as_of                      data cut-off: the last point, and no point lies after it
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of
),
-- Calendar months in UTC (wall-clock arithmetic on naive UTC timestamps), clipped to the period.
month_ends AS (
    SELECT least(timezone('UTC', g.m + INTERVAL 1 MONTH), b.period_end)
           - INTERVAL 1 MICROSECOND AS measured_at
    FROM bounds b,
         unnest(generate_series(date_trunc('month', timezone('UTC', b.period_start)),
                                timezone('UTC', b.period_end) - INTERVAL 1 MICROSECOND,
                                INTERVAL 1 MONTH)) AS g(m)
    WHERE b.period_end > b.period_start
),
instants AS (
    SELECT m.measured_at, 'month end' AS point
    FROM month_ends m, bounds b
    WHERE m.measured_at < b.as_of
    UNION ALL
    SELECT as_of, 'data cut-off' FROM bounds
),
-- (Versions opened after the cut-off could not count at any instant; skipping them is cheaper.)
active_versions AS (
    SELECT a.source, a.app, a.account_id, a.valid_from, a.valid_to
    FROM accounts a, bounds b
    WHERE coalesce(a.active, true) AND a.valid_from <= b.as_of
),
-- Per app and instant, the versions opened and closed then: a few rows per sync, so what follows
-- works on thousands of rows, not millions.
edges AS MATERIALIZED (
    SELECT app, valid_from AS edge_at, count(*) AS delta,
           min(source) AS first_source, max(source) AS last_source
    FROM active_versions
    GROUP BY ALL
    UNION ALL
    SELECT app, valid_to, -count(*), min(source), max(source)
    FROM active_versions
    WHERE valid_to IS NOT NULL
    GROUP BY ALL
),
-- An app listed by more than one source may hold the same account twice; only there is a
-- distinct count needed. Elsewhere a source's versions of an account never overlap, so the
-- count at an instant is a sweep: versions opened by then minus versions closed by then.
shared_apps AS MATERIALIZED (
    SELECT app FROM edges GROUP BY app HAVING min(first_source) <> max(last_source)
),
single_source AS (
    SELECT i.measured_at, coalesce(sum(e.delta), 0) AS n
    FROM instants i
    LEFT JOIN (SELECT * FROM edges ANTI JOIN shared_apps USING (app)) e
      ON e.edge_at <= i.measured_at
    GROUP BY i.measured_at
),
shared_versions AS MATERIALIZED (
    SELECT v.* FROM active_versions v SEMI JOIN shared_apps s USING (app)
),
multi_source AS (
    SELECT i.measured_at, count(DISTINCT (v.app, v.account_id)) AS n
    FROM instants i
    JOIN shared_versions v
      ON v.valid_from <= i.measured_at AND (v.valid_to IS NULL OR v.valid_to > i.measured_at)
    GROUP BY i.measured_at
),
orphans AS (
    SELECT i.measured_at, count(DISTINCT (f.app, f.account_id)) AS n
    FROM instants i
    JOIN findings f
      ON f.kind = 'orphan' AND f.first_seen_at <= i.measured_at
     AND (f.resolved_at IS NULL OR f.resolved_at > i.measured_at)
    GROUP BY i.measured_at
),
counted AS (
    SELECT i.measured_at, i.point,
           CAST(s.n + coalesce(m.n, 0) AS BIGINT) AS active_accounts,
           coalesce(o.n, 0) AS orphan_accounts
    FROM instants i
    JOIN single_source s USING (measured_at)
    LEFT JOIN multi_source m USING (measured_at)
    LEFT JOIN orphans o USING (measured_at)
)
SELECT measured_at, point, active_accounts, orphan_accounts,
       CASE WHEN active_accounts = 0 THEN CAST(0 AS DOUBLE)
            ELSE orphan_accounts / active_accounts END AS rate
FROM counted
ORDER BY measured_at, point
