-- Every run_rows entry of runs $lo..$hi, in storage order (ledger.py appends each run's entries
-- in ord order, as append_events.sql does events in seq order): the input of the rows digests
-- evidence/store/digests.py folds. The entry's hash as recorded; verify_rows.sql compares it
-- with the row it names.
SELECT run_id, ord, row_hash AS hash, CAST(NULL AS VARCHAR) AS altered_id
FROM run_rows
WHERE run_id BETWEEN $lo AND $hi
