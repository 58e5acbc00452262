-- Monitoring operated throughout the period: the population of SOC 2 CC4.1 and CC7.2, ISO
-- 27001 A.8.15 / A.8.16 and HIPAA 164.308(a)(1)(ii)(D) and 164.312(b).
--
-- One row per UTC day, from the day of $period_start to the day of the instant before
-- $period_end; each day's window is the part of it inside the period, [day_from, day_to).
-- status is ok | exception; reason is a sentence.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period
--   $evidence_until             the newest completed sync: nothing after it is evidence
--   $max_source_silence_hours   a configured source unsynced longer than this: exception
--
-- Rules
--   covered: a detect run (sync_runs kind 'detect', status 'ok') has its as_of in the window.
--   silence of a source at instant t: t minus its newest successful (status 'ok') sync as_of
--     at or before t; with none, the source has never synced (silent since forever).
--   longest silence of a day: the largest silence any configured source (`_sources`) reaches
--     in the window, up to eval_to = the window's end or $evidence_until, whichever is first.
--     Silence grows until a sync resets it, so its maxima are reached just before each sync
--     inside the window (the time since the sync before it) and at eval_to (the time since
--     the last sync before eval_to): those checkpoints are the only instants measured.
--   exception: no detect run in the window; a configured source whose longest silence of the
--     day exceeds the limit, or that had never synced at a checkpoint; a day that begins after
--     $evidence_until (the store holds no evidence of it).
--
-- Instants are handled as UTC epoch microseconds (a day is 86,400,000,000 of them), which
-- keeps a year of hourly syncs of 300 sources to one sort and integer arithmetic.
WITH
bounds AS (
    SELECT epoch_us(CAST($period_start AS TIMESTAMPTZ)) AS ps,
           epoch_us(CAST($period_end AS TIMESTAMPTZ)) AS pe,
           epoch_us(CAST($evidence_until AS TIMESTAMPTZ)) AS eu,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until,
           CAST($max_source_silence_hours AS DOUBLE) AS limit_hours,
           86400000000 AS day_us
),
windows AS (
    SELECT r.d,
           greatest(r.d * b.day_us, b.ps) AS day_from,
           least((r.d + 1) * b.day_us, b.pe) AS day_to,
           greatest(greatest(r.d * b.day_us, b.ps), least((r.d + 1) * b.day_us, b.pe, b.eu))
               AS eval_to,
           coalesce(b.eu < greatest(r.d * b.day_us, b.ps), true) AS no_evidence
    FROM bounds b, range(b.ps // b.day_us, (b.pe - 1) // b.day_us + 1) r(d)
    WHERE b.pe > b.ps
),
configured AS (
    SELECT source, row_number() OVER (ORDER BY source) AS sid
    FROM (SELECT DISTINCT source FROM _sources)
),
-- Successful syncs of the configured sources, each with the one before it.
syncs AS (
    SELECT sid, e, lag(e) OVER (PARTITION BY sid ORDER BY e) AS prev_e,
           e // (SELECT day_us FROM bounds) AS d
    FROM (
        SELECT c.sid, epoch_us(r.as_of) AS e
        FROM sync_runs r JOIN configured c USING (source)
        WHERE r.status = 'ok' AND r.kind <> 'detect'
          AND r.as_of <= (SELECT evidence_until FROM bounds)
    )
),
-- Per source and day of the period: the longest gap ending at a sync inside the window (packed
-- as gap * 2^52 + the sync's instant, so one max picks the longest and, on a tie, the later
-- one; 2^52 us is 142 years), a first-ever sync inside it, the last sync before eval_to,
-- and whether it synced that day.
per_day AS (
    SELECT s.sid, s.d,
           max(CAST(s.e - s.prev_e AS HUGEINT) * 4503599627370496 + s.e)
               FILTER (WHERE s.e > w.day_from AND s.e < w.eval_to) AS gap_key,
           min(s.e) FILTER (WHERE s.e > w.day_from AND s.e < w.eval_to AND s.prev_e IS NULL)
               AS first_e,
           max(s.e) FILTER (WHERE s.e < w.eval_to) AS last_before_eval,
           max(s.e) AS day_last,
           bool_or(s.e >= w.day_from AND s.e < w.day_to) AS synced
    FROM syncs s JOIN windows w USING (d)
    GROUP BY s.sid, s.d
),
before_period AS (
    SELECT sid, max(e) AS last_e
    FROM syncs
    WHERE d < (SELECT min(d) FROM windows)
    GROUP BY sid
),
grid AS (
    SELECT w.d, w.eval_to, c.sid, c.source, p.first_e, p.synced,
           CAST(p.gap_key // 4503599627370496 AS BIGINT) AS gap_us,
           CAST(p.gap_key % 4503599627370496 AS BIGINT) AS gap_e,
           coalesce(p.last_before_eval,
                    max(p.day_last) OVER (PARTITION BY c.sid ORDER BY w.d
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    bp.last_e) AS tail_last
    FROM windows w
    CROSS JOIN configured c
    LEFT JOIN per_day p ON p.sid = c.sid AND p.d = w.d
    LEFT JOIN before_period bp ON bp.sid = c.sid
),
-- Each source's worst checkpoint of the day: a first-ever sync inside the window, else the
-- longer of the longest gap and the tail (a tie goes to the later instant, the tail).
checked AS (
    SELECT d, source, sid, synced,
           first_e IS NOT NULL OR tail_last IS NULL AS never,
           first_e IS NOT NULL AS first_in_day,
           CASE WHEN first_e IS NOT NULL THEN first_e
                WHEN gap_us > eval_to - tail_last THEN gap_e
                ELSE eval_to END AS check_e,
           CASE WHEN first_e IS NOT NULL THEN NULL
                WHEN gap_us > eval_to - tail_last THEN gap_e - gap_us
                ELSE tail_last END AS last_e
    FROM grid
),
-- Over the limit or not, and the rank by name among the day's sources over it (the reason
-- details the first five).
worst AS (
    SELECT *, row_number() OVER (PARTITION BY d, is_over ORDER BY source) AS over_rank
    FROM (
        SELECT *, (check_e - last_e) / 3600e6 AS hours,
               never OR (check_e - last_e) / 3600e6 > (SELECT limit_hours FROM bounds) AS is_over
        FROM checked
    )
),
silence AS (
    SELECT d,
           bool_or(never) AS any_never,
           max(hours) AS longest,
           arg_max(source, struct_pack(h := hours, s := -sid)) AS longest_source,
           count(*) AS sources,
           count(*) FILTER (WHERE synced) AS sources_synced,
           string_agg(source, ', ' ORDER BY source) FILTER (WHERE is_over) AS silent_sources,
           string_agg(source || CASE
                   WHEN first_in_day THEN ', no successful sync until its first, as of '
                           || strftime(make_timestamp(check_e), '%Y-%m-%d %H:%M') || ' UTC'
                   WHEN never THEN ', no successful sync ever, up to '
                       || strftime(make_timestamp(check_e), '%Y-%m-%d %H:%M') || ' UTC'
                   ELSE ', silent ' || printf('%.1f h', round(hours, 1))
                       || ' (no successful sync from '
                       || strftime(make_timestamp(last_e), '%Y-%m-%d %H:%M') || ' to '
                       || strftime(make_timestamp(check_e), '%Y-%m-%d %H:%M') || ' UTC)'
               END, '; ' ORDER BY source) FILTER (WHERE is_over AND over_rank <= 5)
               || CASE WHEN count(*) FILTER (WHERE is_over) > 5
                       THEN '; and ' || (count(*) FILTER (WHERE is_over) - 5)
                           || ' more, named under silent sources'
                       ELSE '' END AS silent_text
    FROM worst
    GROUP BY d
),
detects AS (
    SELECT w.d, count(*) AS detect_runs, min(r.as_of) AS first_at, max(r.as_of) AS last_at
    FROM sync_runs r
    JOIN windows w ON w.d = epoch_us(r.as_of) // (SELECT day_us FROM bounds)
    WHERE r.kind = 'detect' AND r.status = 'ok'
      AND r.as_of <= (SELECT evidence_until FROM bounds)
      AND epoch_us(r.as_of) >= w.day_from AND epoch_us(r.as_of) < w.day_to
    GROUP BY w.d
),
judged AS (
    SELECT w.d, w.day_from, w.day_to, w.no_evidence,
           coalesce(dt.detect_runs, 0) AS detect_runs, dt.first_at, dt.last_at,
           coalesce(s.sources_synced, 0) AS sources_synced,
           CASE WHEN s.any_never THEN NULL ELSE round(s.longest, 1) END AS longest_silence_hours,
           s.longest, s.longest_source, coalesce(s.sources, 0) AS sources, s.silent_sources,
           s.silent_text
    FROM windows w
    LEFT JOIN detects dt USING (d)
    LEFT JOIN silence s USING (d)
)
SELECT
    timezone('UTC', make_timestamp(j.d * b.day_us)) AS day,
    j.detect_runs,
    j.first_at AS first_detect_at,
    j.last_at AS last_detect_at,
    j.sources_synced,
    CASE WHEN j.no_evidence THEN NULL ELSE j.longest_silence_hours END AS longest_silence_hours,
    CASE WHEN j.no_evidence THEN NULL ELSE j.silent_sources END AS silent_sources,
    -- A day after $evidence_until is an exception as it has no detect run: their as_of is
    -- read up to $evidence_until.
    CASE WHEN j.detect_runs = 0 OR j.silent_sources IS NOT NULL
         THEN 'exception' ELSE 'ok' END AS status,
    CASE
        WHEN j.detect_runs = 0 THEN 'No detect run evaluated the store on this day.'
        WHEN j.detect_runs = 1 THEN 'One detect run evaluated the store, as of '
            || strftime(timezone('UTC', j.first_at), '%H:%M') || ' UTC.'
        ELSE j.detect_runs || ' detect runs evaluated the store, the first as of '
            || strftime(timezone('UTC', j.first_at), '%H:%M') || ' UTC and the last as of '
            || strftime(timezone('UTC', j.last_at), '%H:%M') || ' UTC.'
    END
    || ' ' || CASE
        WHEN j.no_evidence THEN 'The store holds no evidence for this day ('
            || coalesce('its newest sync is as of '
                        || strftime(make_timestamp(b.eu), '%Y-%m-%d %H:%M') || ' UTC',
                        'it holds no completed sync')
            || '), so the sources cannot be shown to have synced.'
        WHEN j.sources = 0 THEN 'No source is configured.'
        WHEN j.silent_text IS NOT NULL THEN 'Over the ' || printf('%g h', b.limit_hours)
            || ' limit: ' || j.silent_text || '.'
        ELSE CASE WHEN j.sources = 1 THEN 'The configured source'
                  ELSE 'All ' || j.sources || ' configured sources' END
            || ' synced within the ' || printf('%g h', b.limit_hours)
            || ' limit; the longest silence was ' || printf('%.1f h', round(j.longest, 1))
            || ' (' || j.longest_source || ').'
    END
    || CASE
        WHEN NOT j.no_evidence AND b.eu < j.day_to
            THEN ' Judged up to the store''s newest sync, as of '
                || strftime(make_timestamp(b.eu), '%Y-%m-%d %H:%M') || ' UTC.'
        ELSE ''
    END AS reason
FROM judged j, bounds b
ORDER BY j.d
