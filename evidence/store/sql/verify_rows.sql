-- Every row that differs from what its run recorded, one row each, into _row_problems(run,
-- table_name, row_key, line), the first difference first (by run). Reads _live_rows (ledger.py:
-- each covered row's entry recomputed from its stored columns) and run_rows (what each run
-- recorded as it wrote). A version is compared with the entry of the run that opened it
-- (run_id) and, once closed, of the run that closed it (closed_run_id); a sync page with its
-- run's; a finding, which later detect runs rewrite, with the latest entry any detect run
-- recorded for it. Rows and entries are paired by (table, op, run, key) and, where a key
-- repeats, by rank of hash, so a duplicated row is as visible as a changed one.
CREATE OR REPLACE TEMP TABLE _row_problems AS
WITH
latest_write AS (
    SELECT row_key, run_id AS run, row_hash
    FROM run_rows WHERE op = 'write'
    QUALIFY row_number() OVER (PARTITION BY row_key ORDER BY run_id DESC, ord DESC) = 1
),
ledger AS (
    SELECT table_name, op, run_id AS run, row_key, row_hash
    FROM run_rows WHERE op <> 'write'
    UNION ALL
    SELECT 'findings', 'write', run, row_key, row_hash FROM latest_write
),
live AS (
    SELECT l.table_name, l.op, l.run, l.row_key, l.row_hash
    FROM _live_rows l WHERE l.op <> 'write'
    UNION ALL
    SELECT l.table_name, l.op, w.run, l.row_key, l.row_hash
    FROM _live_rows l LEFT JOIN latest_write w USING (row_key)
    WHERE l.op = 'write'
),
l AS (
    SELECT *, row_number() OVER (PARTITION BY table_name, op, run, row_key ORDER BY row_hash)
        AS n
    FROM ledger
),
s AS (
    SELECT *, row_number() OVER (PARTITION BY table_name, op, run, row_key ORDER BY row_hash)
        AS n
    FROM live
),
paired AS (
    SELECT coalesce(s.table_name, l.table_name) AS table_name, coalesce(s.op, l.op) AS op,
        coalesce(s.run, l.run) AS run, coalesce(s.row_key, l.row_key) AS row_key,
        s.row_hash AS live_hash, l.row_hash AS ledger_hash
    FROM s FULL JOIN l
      ON s.table_name = l.table_name AND s.op = l.op AND s.row_key = l.row_key AND s.n = l.n
     AND s.run IS NOT DISTINCT FROM l.run
    WHERE s.row_hash IS DISTINCT FROM l.row_hash
),
verbs AS (
    SELECT *,
        CASE op WHEN 'open' THEN 'opened' WHEN 'close' THEN 'closed'
                WHEN 'page' THEN 'recorded' ELSE 'wrote' END AS verb
    FROM paired
)
SELECT run, table_name,
    row_key,
    table_name || ' row ' || row_key || ': ' || CASE
        WHEN live_hash IS NOT NULL AND ledger_hash IS NOT NULL
            THEN 'differs from what run ' || run || ' ' || verb
        WHEN ledger_hash IS NOT NULL AND op = 'close'
            THEN 'run ' || run || ' closed it, and the store no longer holds it closed'
        WHEN ledger_hash IS NOT NULL
            THEN 'run ' || run || ' ' || verb || ' it, and the store no longer holds it'
        WHEN op = 'close' AND run IS NULL THEN 'closed, but no run closed it'
        WHEN op = 'close' THEN 'closed, but run ' || run || ' did not close it'
        WHEN op = 'write' THEN 'no detect run wrote it'
        WHEN run IS NULL THEN 'no run ' || verb || ' it'
        ELSE 'run ' || run || ' did not ' || CASE op WHEN 'open' THEN 'open'
                                                     ELSE 'record' END || ' it'
    END AS line
FROM verbs
