-- Record the run with its digest (sha256 over its event hashes in seq order), its rows digest
-- (sha256 over the hashes of the rows it wrote, run_rows in ord order: evidence/store/ledger.py)
-- and its chain hash (sha256 of the previous chain head, this digest and this rows digest, a
-- missing one as ''). A run that adds no events and writes no rows has none of them and leaves
-- the chain head where it was. A failed run is recorded here too, after its own rollback, with
-- status 'failed' and its error: it owns no events and no rows, so it never moves the head.
INSERT INTO sync_runs (
    run_id, source, kind, mode, started_at, finished_at, as_of, status, counts, cursors, error,
    digest, chain_hash, rows_digest
)
WITH d AS (
    SELECT CASE WHEN count(*) = 0 THEN NULL
                ELSE sha256(string_agg(event_hash, '' ORDER BY seq)) END AS digest
    FROM events WHERE run_id = $run_id
),
r AS (
    SELECT CASE WHEN count(*) = 0 THEN NULL
                ELSE sha256(string_agg(row_hash, '' ORDER BY ord)) END AS rows_digest
    FROM run_rows WHERE run_id = $run_id
),
head AS (
    SELECT chain_hash FROM sync_runs
    WHERE chain_hash IS NOT NULL ORDER BY run_id DESC LIMIT 1
)
SELECT
    $run_id, $source, $kind, $mode, $started_at, $finished_at, $as_of, $status, $counts::JSON,
    $cursors::JSON, $error, d.digest,
    CASE WHEN d.digest IS NULL AND r.rows_digest IS NULL THEN NULL
         ELSE sha256(coalesce((SELECT chain_hash FROM head), '') || coalesce(d.digest, '')
                     || coalesce(r.rows_digest, '')) END,
    r.rows_digest
FROM d, r
RETURNING chain_hash
