-- Integrity and completeness of the collected logs: the population of SOC 2 CC7.2 (and
-- CC4.1), ISO 27001 A.8.15 and HIPAA 164.312(b).
--
-- One row per sync run (any source, detect runs included: they append finding events to the
-- same chain; any status) whose as_of lies in the period, in run_id order, which is the
-- chain's order. status is ok | exception; run_status is the run's own (ok | failed).
--
-- Parameters
--   $period_start, $period_end  half-open UTC period the runs' as_of fall in
--   $evidence_until             the newest completed sync: a re-run counts up to it
--
-- Recomputed as evidence/store/sql/verify_chain.sql does:
--   event hash   sha256 of the compact JSON of the event's content (append_events.sql);
--   digest       sha256 of the run's recomputed event hashes concatenated in seq order,
--                null for a run without events;
--   chain hash   sha256(previous chain head || recomputed digest || stored rows digest, a
--                missing one as ''), the previous head being the stored chain hash of the
--                previous run on the chain (a run with a chain hash or with events); a run
--                without events or rows is not on the chain. The rows digest (the rows the
--                run wrote, run_rows) is taken as stored: `evidence verify --store`
--                recomputes it and checks every row against it, a full pass over the store.
-- Only the population's events are re-hashed (the build's main cost: about 0.9 us per event
-- on two cores, mostly sha256 and json_object), before the query, into _run_digests. Every earlier link of the chain up to the
-- period's last run is still checked, on the stored digests (sync_runs alone, no event read):
-- a broken link outside the population is reported on the next population run on the chain.
--
-- Exceptions
--   the stored digest differs from the recomputed one, or the chain hash from the recomputed
--   link; an earlier link (outside the population) is broken;
--   a failed run with no later (run_id) successful run of the same source up to
--   $evidence_until;
--   a cursor gap: a successful run of a log source (kind okta or entra) that recorded where
--   it started (`cursors.from`) and started elsewhere than where the previous successful run
--   of the source that recorded a cursor stopped (`cursors.cursor`); with no such previous
--   run it must have started without a cursor. Runs from export files (no cursors) and runs
--   that did not record `from` are not judged, and their reason says so.
-- prepare: run_digests
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
runs AS (
    SELECT r.*
    FROM sync_runs r, bounds b
    WHERE r.as_of >= b.period_start AND r.as_of < b.period_end
),
span AS (
    SELECT min(run_id) AS lo, max(run_id) AS hi FROM runs
),
-- Each run's events re-hashed from their content and folded into its digest: the table
-- reports/prepare.py fills (evidence/store/digests.py, in bounded memory) for the runs from
-- the population's first to its last, before this query runs.
digests AS (
    SELECT run_id, events, altered, digest AS digest_recomputed FROM _run_digests
),
-- Which runs have events, up to the period's last run: the run_id column alone.
with_events AS (
    SELECT DISTINCT run_id FROM events WHERE run_id <= (SELECT hi FROM span)
),
chained AS (
    SELECT r.run_id, r.digest, r.chain_hash, r.rows_digest,
           r.run_id IN (SELECT run_id FROM runs) AS in_population,
           lag(r.run_id) OVER (ORDER BY r.run_id) AS prev_run,
           lag(r.chain_hash) OVER (ORDER BY r.run_id) AS prev_head
    FROM sync_runs r
    WHERE r.run_id <= (SELECT hi FROM span)
      AND (r.chain_hash IS NOT NULL OR r.run_id IN (SELECT run_id FROM with_events))
),
-- Links outside the population, checked on their stored digests; each is reported on the
-- next population run on the chain, whose chain hash rests on it.
outside_breaks AS (
    SELECT p.run_id, string_agg(CAST(o.run_id AS VARCHAR), ', ' ORDER BY o.run_id) AS runs,
           count(*) AS n
    FROM (SELECT run_id FROM chained
          WHERE NOT in_population
            AND chain_hash IS DISTINCT FROM CASE
                WHEN rows_digest IS NULL THEN sha256(coalesce(prev_head, '') || digest)
                ELSE sha256(coalesce(prev_head, '') || coalesce(digest, '') || rows_digest)
            END) o
    ASOF JOIN (SELECT run_id FROM chained WHERE in_population) p ON o.run_id < p.run_id
    GROUP BY p.run_id
),
-- The next successful run of the same source after each failed one.
reruns AS (
    SELECT f.run_id, ok.run_id AS rerun_id, ok.as_of AS rerun_as_of
    FROM (SELECT run_id, source FROM runs WHERE status <> 'ok') f
    ASOF JOIN (SELECT r.run_id, r.source, r.as_of FROM sync_runs r, bounds b
               WHERE r.status = 'ok' AND r.as_of <= b.evidence_until) ok
        ON f.source = ok.source AND f.run_id < ok.run_id
),
-- Where the previous successful run of the same log source that recorded a cursor stopped.
previous_cursor AS (
    SELECT l.run_id, p.run_id AS prev_run, p.cursor AS prev_cursor
    FROM (SELECT run_id, source FROM runs
          WHERE status = 'ok' AND kind IN ('okta', 'entra')) l
    ASOF JOIN (SELECT run_id, source, cursors->>'cursor' AS cursor FROM sync_runs
               WHERE status = 'ok' AND cursors->>'cursor' IS NOT NULL) p
        ON l.source = p.source AND l.run_id > p.run_id
),
judged AS (
    SELECT r.run_id, r.source, r.kind, r.mode, r.started_at, r.as_of, r.status AS run_status,
           r.error, coalesce(d.events, 0) AS events, coalesce(d.altered, 0) AS altered,
           r.digest, d.digest_recomputed, r.chain_hash, r.rows_digest,
           c.run_id IS NOT NULL AS on_chain, c.prev_run AS chain_prev_run,
           CASE WHEN c.run_id IS NOT NULL AND c.rows_digest IS NULL
                THEN sha256(coalesce(c.prev_head, '') || d.digest_recomputed)
                WHEN c.run_id IS NOT NULL
                THEN sha256(coalesce(c.prev_head, '') || coalesce(d.digest_recomputed, '')
                            || c.rows_digest) END
               AS chain_recomputed,
           r.cursors->>'from' AS cursor_from,
           r.cursors->>'cursor' AS cursor_to,
           r.cursors IS NOT NULL AS has_cursors,
           (r.cursors->'from') IS NOT NULL AS from_recorded,
           ob.runs AS outside_runs, ob.n AS outside_n,
           rr.rerun_id, rr.rerun_as_of,
           pc.prev_run AS cursor_prev_run, pc.prev_cursor
    FROM runs r
    LEFT JOIN digests d USING (run_id)
    LEFT JOIN chained c USING (run_id)
    LEFT JOIN outside_breaks ob USING (run_id)
    LEFT JOIN reruns rr USING (run_id)
    LEFT JOIN previous_cursor pc USING (run_id)
),
flags AS (
    SELECT *,
           digest IS DISTINCT FROM digest_recomputed AS digest_bad,
           on_chain AND chain_hash IS DISTINCT FROM chain_recomputed AS chain_bad,
           run_status <> 'ok' AND rerun_id IS NULL AS not_rerun,
           run_status = 'ok' AND kind IN ('okta', 'entra') AND from_recorded
               AND cursor_from IS DISTINCT FROM prev_cursor AS cursor_gap
    FROM judged
)
SELECT
    f.run_id, f.source, f.kind, f.mode, f.started_at, f.as_of, f.run_status, f.events,
    f.digest, f.digest_recomputed, f.chain_hash, f.chain_recomputed, f.cursor_from,
    f.cursor_to,
    CASE WHEN f.digest_bad OR f.chain_bad OR f.outside_n IS NOT NULL OR f.not_rerun
              OR f.cursor_gap
         THEN 'exception' ELSE 'ok' END AS status,
    concat_ws(' ',
    -- What the run did and whether its hashes hold.
    CASE
        WHEN f.run_status <> 'ok' THEN 'The run failed: '
            || coalesce(nullif(rtrim(f.error, '. '), ''), 'no error recorded') || '. '
            || CASE WHEN f.rerun_id IS NOT NULL
                    THEN 'Re-run by run ' || f.rerun_id || ' (as of '
                        || strftime(timezone('UTC', f.rerun_as_of), '%Y-%m-%d %H:%M')
                        || ' UTC), which succeeded.'
                    ELSE 'No later run of ' || f.source || ' succeeded up to the evidence '
                        || 'cut-off ' || strftime(timezone('UTC', b.evidence_until),
                                                  '%Y-%m-%d %H:%M')
                        || ' UTC: nothing re-ran it.' END
        WHEN f.events = 0 AND f.digest IS NULL AND f.chain_hash IS NULL
            THEN 'Added no events: no digest, and the chain head is unchanged.'
        WHEN f.events = 0 AND f.digest IS NULL AND f.rows_digest IS NOT NULL
            THEN 'Added no events; its chain hash covers the rows it wrote.'
    END,
    CASE
        WHEN f.digest_bad AND f.events = 0 THEN 'Its stored digest covers events, but the '
            || 'store holds none for this run now.'
        WHEN f.digest_bad AND f.digest IS NULL THEN 'It recorded no digest, but the store now '
            || 'holds ' || CASE WHEN f.events = 1 THEN 'one event' ELSE f.events || ' events' END
            || ' for it.'
        WHEN f.digest_bad THEN 'The digest recomputed from its '
            || CASE WHEN f.events = 1 THEN 'one event' ELSE f.events || ' events' END
            || ' differs from the stored one'
            || CASE WHEN f.altered > 0 THEN ' (' || f.altered || ' event'
                        || CASE WHEN f.altered = 1 THEN '''s content no longer matches its'
                                ELSE 's'' content no longer match their' END
                        || ' stored hash)'
                    ELSE '' END || '.'
        WHEN f.events = 1 THEN 'Its one event hashes to the stored digest.'
        WHEN f.events > 1 THEN 'Its ' || f.events || ' events hash to the stored digest.'
    END,
    CASE
        WHEN f.chain_bad THEN 'Its chain hash does not follow from '
            || coalesce('run ' || f.chain_prev_run || '''s chain hash', 'the start of the chain')
            || ' and the recomputed digest.'
        WHEN f.on_chain THEN 'Its chain hash follows from '
            || coalesce('run ' || f.chain_prev_run || '''s', 'the start of the chain') || '.'
    END,
    CASE
        WHEN f.outside_n = 1 THEN 'The chain breaks before this run, outside the population: '
            || 'the chain hash of run ' || f.outside_runs || ' does not follow from its stored '
            || 'digest and the previous chain hash.'
        WHEN f.outside_n > 1 THEN 'The chain breaks before this run, outside the population: '
            || 'the chain hashes of runs ' || f.outside_runs || ' do not follow from their '
            || 'stored digests and the previous chain hashes.'
    END,
    -- Continuity of a log source's cursor.
    CASE
        WHEN f.run_status <> 'ok' OR f.kind NOT IN ('okta', 'entra') THEN NULL
        WHEN NOT f.has_cursors THEN 'Loaded from export files, which carry no cursor: '
            || 'continuity not judged.'
        WHEN NOT f.from_recorded THEN 'The run did not record where it started reading: '
            || 'continuity not judged.'
        WHEN f.cursor_gap AND f.cursor_from IS NULL THEN 'Cursor gap: it started without a '
            || 'cursor, but run ' || f.cursor_prev_run || ' had stopped at ' || f.prev_cursor
            || '.'
        WHEN f.cursor_gap AND f.prev_cursor IS NULL THEN 'Cursor gap: it started from '
            || f.cursor_from || ', where no earlier successful run of the source stopped.'
        WHEN f.cursor_gap THEN 'Cursor gap: it started from ' || f.cursor_from
            || ', but the previous successful run ' || f.cursor_prev_run || ' stopped at '
            || f.prev_cursor || '.'
        WHEN f.cursor_from IS NULL THEN 'First read of the log: no earlier cursor to continue.'
        ELSE 'Continued from where run ' || f.cursor_prev_run || ' stopped.'
    END) AS reason
FROM flags f, bounds b
ORDER BY f.run_id
