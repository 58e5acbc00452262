-- Re-compute every event hash, every run digest and the chain; one row per problem.
WITH rehash AS (
    SELECT e.run_id, e.seq, e.event_id, e.event_hash,
        sha256(json_object(
            'event_id', e.event_id, 'source', e.source, 'native_type', e.native_type,
            'occurred_at', strftime(timezone('UTC', e.occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ'),
            'action', e.action, 'outcome', e.outcome, 'actor', e.actor,
            'person_id', e.person_id, 'app', e.app, 'account_id', e.account_id,
            'entitlement', e.entitlement, 'details', e.details, 'raw', e.raw
        )) AS recomputed
    FROM events e
),
digests AS (
    SELECT run_id, sha256(string_agg(recomputed, '' ORDER BY seq)) AS digest
    FROM rehash GROUP BY run_id
),
runs AS (
    SELECT r.run_id, r.digest, r.chain_hash, d.digest AS recomputed_digest
    FROM sync_runs r LEFT JOIN digests d USING (run_id)
),
chained AS (
    SELECT run_id, digest, chain_hash, recomputed_digest,
        lag(chain_hash) OVER (ORDER BY run_id) AS prev_head
    FROM runs WHERE chain_hash IS NOT NULL OR recomputed_digest IS NOT NULL
)
SELECT 'event ' || event_id || ' (seq ' || seq || '): stored hash differs from its content'
FROM rehash WHERE event_hash <> recomputed
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
