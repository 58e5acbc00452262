-- Every problem of the event log, one row each: altered events, duplicate ids, run digests
-- that no longer follow from their events, and chain hashes that no longer follow from the
-- previous run. Reads _run_digests and _altered_events, which evidence/store/digests.py fills
-- beforehand by re-hashing every event (in bounded memory; sha256(string_agg(...)) is not).
WITH runs AS (
    SELECT r.run_id, r.digest, r.chain_hash, d.digest AS recomputed_digest
    FROM sync_runs r LEFT JOIN _run_digests d USING (run_id)
),
chained AS (
    SELECT run_id, digest, chain_hash, recomputed_digest,
        lag(chain_hash) OVER (ORDER BY run_id) AS prev_head
    FROM runs WHERE chain_hash IS NOT NULL OR recomputed_digest IS NOT NULL
)
SELECT 'event ' || event_id || ' (seq ' || seq || '): stored hash differs from its content'
FROM _altered_events
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
SELECT 'run ' || run_id || ': chain hash does not follow from the previous run'
FROM chained
WHERE chain_hash IS DISTINCT FROM sha256(coalesce(prev_head, '') || recomputed_digest)
ORDER BY 1
