-- Every problem of the event log and the digest chain, one row each: altered events, duplicate
-- ids, run digests that no longer follow from their events, rows digests that no longer follow
-- from the run's run_rows entries, and chain hashes that no longer follow from the previous run.
-- Reads _run_digests, _altered_events and _run_rows_digests, which evidence/store/digests.py
-- fills beforehand by re-hashing every event and folding every entry (in bounded memory;
-- sha256(string_agg(...)) is not). Whether the entries still match the rows they name is
-- verify_rows.sql's question.
WITH runs AS (
    SELECT r.run_id, r.digest, r.chain_hash, r.rows_digest, d.digest AS recomputed_digest,
        w.rows_digest AS recomputed_rows
    FROM sync_runs r
    LEFT JOIN _run_digests d USING (run_id)
    LEFT JOIN _run_rows_digests w USING (run_id)
),
chained AS (
    SELECT run_id, digest, chain_hash, rows_digest, recomputed_digest, recomputed_rows,
        lag(chain_hash) OVER (ORDER BY run_id) AS prev_head
    FROM runs
    WHERE chain_hash IS NOT NULL OR recomputed_digest IS NOT NULL OR recomputed_rows IS NOT NULL
)
SELECT 'event ' || e.event_id || ' (seq ' || e.seq || ', run ' || e.run_id || '): stored hash '
    || 'differs from its content'
FROM _altered_events e
UNION ALL
SELECT 'run ' || d.run_id || ': ' || (d.altered - coalesce(k.n, 0)) || ' more events whose '
    || 'stored hash differs from their content'
FROM _run_digests d
LEFT JOIN (SELECT run_id, count(*) AS n FROM _altered_events GROUP BY run_id) k USING (run_id)
WHERE d.altered > coalesce(k.n, 0)
UNION ALL
SELECT 'event id ' || event_id || ' appears ' || count(*) || ' times'
FROM events GROUP BY event_id HAVING count(*) > 1
UNION ALL
SELECT 'run ' || run_id || ': digest does not match its events'
FROM chained WHERE digest IS DISTINCT FROM recomputed_digest
UNION ALL
SELECT 'run ' || run_id || ': rows digest does not match the rows it recorded (run_rows)'
FROM chained WHERE rows_digest IS DISTINCT FROM recomputed_rows
UNION ALL
SELECT 'run ' || run_id || ': chain hash does not follow from the previous run'
FROM chained
WHERE chain_hash IS DISTINCT FROM sha256(coalesce(prev_head, '') || coalesce(recomputed_digest, '')
                                         || coalesce(recomputed_rows, ''))
UNION ALL
-- A migration that recomputed the chain over links that no longer held: the recomputed links
-- hold, so only its record still tells (the former hashes are in superseded_chain_hashes).
SELECT 'migration ' || version || ' (' || strftime(timezone('UTC', applied_at), '%Y-%m-%d %H:%M')
    || ' UTC): ' || links_broken_before || ' chain links did not hold before it recomputed '
    || 'the chain'
FROM digest_recomputations WHERE links_broken_before > 0
ORDER BY 1
