-- Population completeness, the frame: the sync runs of every source a report read, one row per
-- source, with the record counts and the server's own totals (IPE, DOMAIN.md §2).
--
-- Parameters
--   $period_start, $period_end  half-open UTC period: a run is in it when its as_of is
--   $as_of                      data cut-off: last_as_of is the newest run up to it
--   $evidence_until             runs completed after it are not read at all
--
-- Rows: every source with a completed run up to $evidence_until, and every configured source
-- (temp table _sources) that has none, with zero runs: a frame that misses a source shows it.
-- role says which population a source frames: 'hr' (kind hris), 'idp' (okta, entra), 'app'
-- (scim, app_export), 'detect' (the monitoring's own runs). A source of any other kind takes
-- every role its runs listed (people: hr, idp_users: idp, accounts: app; counts.opened has a
-- key per snapshot table a run listed) and is listed once per role, else 'app'.
--
-- Figures, over the source's runs in the period:
--   runs_in_period = full_runs + delta_runs; first_as_of; last_as_of (newest run from the
--   period start up to the data cut-off); last_before_period (newest run before the period,
--   any mode: the opening state); records (items the runs' pages or files returned,
--   sync_pages.item_count; null when no page was recorded); events (events the runs appended,
--   counts.events_new); changes (versions the runs opened plus closed, counts.opened/closed;
--   null for the monitoring, whose counts are findings); pages; pages_with_total (pages that
--   carry the server's totalResults); pages_total_mismatch (pages of a listing whose every
--   page carries totalResults and whose item counts do not add up to it, or whose totals
--   differ between pages: an incomplete or shifting listing). A listing is one run's pages of
--   one endpoint (the request before `?`) or file stem (the file name without its page
--   number: Users.json, Users-0002.json). Pages without totalResults (Okta, Entra, HR and
--   CSV files) are not judged.
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
runs AS (
    SELECT r.run_id, r.source, r.kind, r.mode, r.as_of, r.counts,
           CASE WHEN json_type(r.counts -> 'opened') = 'OBJECT' THEN
               coalesce(list_sum(CAST(json_extract(r.counts, '$.opened.*') AS BIGINT[])), 0)
               + coalesce(list_sum(CAST(json_extract(r.counts, '$.closed.*') AS BIGINT[])), 0)
           END AS changes,
           r.as_of >= b.period_start AND r.as_of < b.period_end AS in_period,
           r.as_of >= b.period_start AND r.as_of <= b.as_of AS to_cutoff,
           r.as_of < b.period_start AS before_period
    FROM sync_runs r, bounds b
    WHERE r.status = 'ok' AND r.as_of <= b.evidence_until
),
synced AS (
    SELECT source, arg_max(kind, as_of) AS kind FROM runs GROUP BY source
),
known AS (
    SELECT source, kind FROM synced
    UNION ALL
    SELECT s.source, s.kind FROM _sources s ANTI JOIN synced USING (source)
),
listed AS (
    SELECT DISTINCT source, unnest(json_keys(counts -> 'opened')) AS tbl
    FROM runs
    WHERE json_type(counts -> 'opened') = 'OBJECT'
),
by_kind AS (
    SELECT source, kind,
           CASE kind
               WHEN 'hris' THEN 'hr'
               WHEN 'okta' THEN 'idp'
               WHEN 'entra' THEN 'idp'
               WHEN 'scim' THEN 'app'
               WHEN 'app_export' THEN 'app'
               WHEN 'detect' THEN 'detect'
           END AS role
    FROM known
),
by_data AS (
    SELECT DISTINCT source,
           CASE tbl WHEN 'people' THEN 'hr' WHEN 'idp_users' THEN 'idp' ELSE 'app' END AS role
    FROM listed
    WHERE tbl IN ('people', 'idp_users', 'accounts')
),
roles AS (
    SELECT source, kind, role FROM by_kind WHERE role IS NOT NULL
    UNION ALL
    SELECT k.source, k.kind, coalesce(d.role, 'app')
    FROM by_kind k
    LEFT JOIN by_data d USING (source)
    WHERE k.role IS NULL
),
run_figures AS (
    SELECT source,
           count(*) FILTER (WHERE in_period) AS runs_in_period,
           count(*) FILTER (WHERE in_period AND mode = 'full') AS full_runs,
           count(*) FILTER (WHERE in_period AND mode = 'delta') AS delta_runs,
           min(as_of) FILTER (WHERE in_period) AS first_as_of,
           max(as_of) FILTER (WHERE to_cutoff) AS last_as_of,
           max(as_of) FILTER (WHERE before_period) AS last_before_period,
           sum(CAST(counts ->> 'events_new' AS BIGINT)) FILTER (WHERE in_period) AS events,
           sum(changes) FILTER (WHERE in_period) AS changes
    FROM runs
    GROUP BY source
),
listings AS (
    SELECT r.source, p.run_id,
           regexp_replace(split_part(p.request, '?', 1), '[-_. ]*[0-9]*\.json$', '') AS listing,
           count(*) AS pages,
           sum(p.item_count) AS items,
           count(p.total_results) AS with_total,
           min(p.total_results) AS total_min,
           max(p.total_results) AS total_max
    FROM sync_pages p
    JOIN runs r ON r.run_id = p.run_id AND r.in_period
    GROUP BY ALL
),
page_figures AS (
    SELECT source,
           sum(items) AS records,
           sum(pages) AS pages,
           sum(with_total) AS pages_with_total,
           coalesce(sum(pages) FILTER (
               WHERE with_total = pages AND (total_min <> total_max OR items <> total_max)), 0)
               AS pages_total_mismatch
    FROM listings
    GROUP BY source
)
SELECT
    s.source,
    s.kind,
    s.role,
    coalesce(f.runs_in_period, 0) AS runs_in_period,
    coalesce(f.full_runs, 0) AS full_runs,
    coalesce(f.delta_runs, 0) AS delta_runs,
    f.first_as_of,
    f.last_as_of,
    f.last_before_period,
    p.records,
    f.events,
    f.changes,
    coalesce(p.pages, 0) AS pages,
    coalesce(p.pages_with_total, 0) AS pages_with_total,
    coalesce(p.pages_total_mismatch, 0) AS pages_total_mismatch
FROM roles s
LEFT JOIN run_figures f USING (source)
LEFT JOIN page_figures p USING (source)
ORDER BY CASE s.role WHEN 'hr' THEN 1 WHEN 'idp' THEN 2 WHEN 'app' THEN 3 ELSE 4 END,
         s.source
