-- Findings by kind, per month of the period: the management summary's monthly series.
--
-- One row per (calendar month of the period in UTC, finding kind), for every kind with at least
-- one finding whose life overlaps the period (raised before its end and by $evidence_until, not
-- resolved before its start); every month appears for each such kind, zeros included.
--   month              the month's first day (DATE, UTC)
--   kind               the finding kind (orphan, drift, creep, dormant, sla, sod, duplicate)
--   opened             findings first seen in the month (the part of it inside the period)
--   open_at_month_end  findings open at the month's last instant (23:59:59.999999 UTC on its last
--                      day, or the period's), or at $evidence_until if that is earlier: first
--                      seen by then and not resolved by then; an accepted risk stays open
--   resolved           findings resolved in the month, up to $evidence_until
-- Months are half-open like the period, so the series rolls forward: a month's
-- open_at_month_end is the previous month's plus opened minus resolved.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period; a partial first or last month is clipped
--   $evidence_until             findings are read up to here (the newest completed sync)
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- Calendar months in UTC (wall-clock arithmetic on naive UTC timestamps, whatever the session
-- time zone), each clipped to the period: [m_from, m_to).
months AS (
    SELECT CAST(g.m AS DATE) AS month,
           greatest(timezone('UTC', g.m), b.period_start) AS m_from,
           least(timezone('UTC', g.m + INTERVAL 1 MONTH), b.period_end) AS m_to,
           b.evidence_until
    FROM bounds b,
         unnest(generate_series(date_trunc('month', timezone('UTC', b.period_start)),
                                timezone('UTC', b.period_end) - INTERVAL 1 MICROSECOND,
                                INTERVAL 1 MONTH)) AS g(m)
    WHERE b.period_end > b.period_start
),
ends AS (
    SELECT *, least(m_to - INTERVAL 1 MICROSECOND, evidence_until) AS t FROM months
),
overlapping AS (
    SELECT f.kind, f.first_seen_at, f.resolved_at
    FROM findings f, bounds b
    WHERE f.first_seen_at < b.period_end
      AND f.first_seen_at <= b.evidence_until
      AND (f.resolved_at IS NULL OR f.resolved_at >= b.period_start)
),
kinds AS (
    SELECT DISTINCT kind FROM overlapping
)
SELECT
    e.month,
    k.kind,
    count(f.kind) FILTER (WHERE f.first_seen_at >= e.m_from AND f.first_seen_at < e.m_to)
        AS opened,
    count(f.kind) FILTER (WHERE f.first_seen_at <= e.t
                            AND (f.resolved_at IS NULL OR f.resolved_at > e.t))
        AS open_at_month_end,
    count(f.kind) FILTER (WHERE f.resolved_at >= e.m_from AND f.resolved_at < e.m_to
                            AND f.resolved_at <= e.evidence_until)
        AS resolved
FROM ends e
CROSS JOIN kinds k
LEFT JOIN overlapping f ON f.kind = k.kind
GROUP BY e.month, k.kind
ORDER BY e.month, k.kind
