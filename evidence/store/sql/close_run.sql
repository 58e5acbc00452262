-- Record the run with its digest (sha256 over its event hashes in seq order) and chain hash
-- (sha256 of the previous chain head and this digest). A run that adds no events has neither
-- and leaves the chain head where it was. A failed run is recorded here too, after its own
-- rollback, with status 'failed' and its error: it owns no events, so it never moves the head.
INSERT INTO sync_runs (
    run_id, source, kind, mode, started_at, finished_at, as_of, status, counts, cursors, error,
    digest, chain_hash
)
WITH d AS (
    SELECT CASE WHEN count(*) = 0 THEN NULL
                ELSE sha256(string_agg(event_hash, '' ORDER BY seq)) END AS digest
    FROM events WHERE run_id = $run_id
),
head AS (
    SELECT chain_hash FROM sync_runs
    WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1
)
SELECT
    $run_id, $source, $kind, $mode, $started_at, $finished_at, $as_of, $status, $counts::JSON,
    $cursors::JSON, $error, d.digest,
    CASE WHEN d.digest IS NULL THEN NULL
         ELSE sha256(coalesce((SELECT chain_hash FROM head), '') || d.digest) END
FROM d
RETURNING chain_hash
