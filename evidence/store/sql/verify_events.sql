-- Events missing, added or moved, named by seq, into _row_problems (see verify_rows.sql). seq
-- is dense (append_events.sql numbers each run's events on from the store's highest), so a
-- deleted event leaves a gap; run ids never fall along seq; and a run's events are seq lo ..
-- lo + events_new - 1, events_new as it counted when it committed (sync_runs.counts), so an
-- event appended under a run's id afterwards is named too. An altered event is verify_chain.sql's (its hash no longer
-- follows from its content).
INSERT INTO _row_problems
-- Integers only in the window (seq, run_id: one sort), the event id joined to the few
-- problem rows: the memory a verify of millions of events can spare.
WITH w AS (
    SELECT seq, run_id,
        lag(seq) OVER (ORDER BY seq, run_id) AS prev_seq,
        lag(run_id) OVER (ORDER BY seq, run_id) AS prev_run,
        max(run_id) OVER (ORDER BY seq, run_id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_before
    FROM events
),
firsts AS (SELECT run_id, min(seq) AS lo FROM events GROUP BY run_id),
flagged AS (
    SELECT w.*, w.seq - f.lo + 1 AS nth
    FROM w JOIN firsts f USING (run_id)
),
e AS (
    SELECT f.*, ev.event_id
    FROM flagged f JOIN events ev ON ev.seq = f.seq AND ev.run_id = f.run_id
    WHERE f.seq > f.prev_seq + 1 OR f.seq = f.prev_seq OR f.run_id < f.max_before
       OR f.nth > (SELECT TRY_CAST(counts->>'events_new' AS BIGINT) FROM sync_runs r
                   WHERE r.run_id = f.run_id)
),
counted AS (
    SELECT run_id, TRY_CAST(counts->>'events_new' AS BIGINT) AS events_new FROM sync_runs
),
held AS (SELECT run_id, count(*) AS n FROM events GROUP BY run_id)
SELECT CASE WHEN e.prev_run = e.run_id THEN e.run_id
            WHEN coalesce(hp.n, 0) < cp.events_new THEN e.prev_run
            WHEN coalesce(hr.n, 0) < cr.events_new THEN e.run_id
            ELSE e.prev_run END,
    'events', CAST(e.prev_seq + 1 AS VARCHAR),
    'events row seq ' || CASE WHEN e.seq - e.prev_seq = 2 THEN CAST(e.prev_seq + 1 AS VARCHAR)
                              ELSE (e.prev_seq + 1) || '..' || (e.seq - 1) END
    || ': missing, run ' || CASE WHEN e.prev_run = e.run_id THEN CAST(e.run_id AS VARCHAR)
                                 WHEN coalesce(hp.n, 0) < cp.events_new
                                     THEN CAST(e.prev_run AS VARCHAR)
                                 WHEN coalesce(hr.n, 0) < cr.events_new
                                     THEN CAST(e.run_id AS VARCHAR)
                                 ELSE e.prev_run || ' or ' || e.run_id END
    || ' appended it (the store holds seq ' || e.prev_seq || ' and ' || e.seq || ')'
FROM e
LEFT JOIN counted cp ON cp.run_id = e.prev_run
LEFT JOIN held hp ON hp.run_id = e.prev_run
LEFT JOIN counted cr ON cr.run_id = e.run_id
LEFT JOIN held hr ON hr.run_id = e.run_id
WHERE e.seq > e.prev_seq + 1
UNION ALL
SELECT run_id, 'events', event_id,
    'events row ' || event_id || ' (seq ' || seq || '): seq repeats, run ' || run_id
    || ' did not append it twice'
FROM e WHERE seq = prev_seq
UNION ALL
SELECT run_id, 'events', event_id,
    'events row ' || event_id || ' (seq ' || seq || '): after run ' || max_before
    || '''s events, so run ' || run_id || ' did not append it'
FROM e WHERE run_id < max_before
UNION ALL
SELECT e.run_id, 'events', e.event_id,
    'events row ' || e.event_id || ' (seq ' || e.seq || '): run ' || e.run_id
    || ' appended ' || c.events_new || ' events, and this is number ' || e.nth
FROM e JOIN counted c USING (run_id)
WHERE e.nth > c.events_new
UNION ALL
SELECT c.run_id, 'events', NULL,
    'events of run ' || c.run_id || ': ' || (c.events_new - coalesce(h.n, 0)) || ' fewer than the '
    || c.events_new || ' it appended'
FROM counted c LEFT JOIN held h USING (run_id)
WHERE coalesce(h.n, 0) < c.events_new
