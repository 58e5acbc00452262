-- Every run_rows entry of runs $lo..$hi, unordered: evidence/store/digests.py orders them by
-- (run_id, ord) and folds them into the rows digests. The entry's hash as recorded; verify_rows.sql compares it
-- with the row it names.
SELECT run_id, ord, row_hash AS hash, CAST(NULL AS VARCHAR) AS altered_id
FROM run_rows
WHERE run_id BETWEEN $lo AND $hi
