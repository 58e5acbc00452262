-- Every sync run the report read: completed runs up to the evidence cut-off, oldest first.
-- `chain_hash` commits to every earlier run (the store's digest chain), so the newest run of
-- this list vouches for all of them.
-- Parameters: $evidence_until
SELECT run_id, source, kind, mode, as_of, digest, chain_hash
FROM sync_runs
WHERE status = 'ok' AND as_of <= $evidence_until
ORDER BY as_of, run_id
