-- The two instants a report is read at.
--   data_as_of      the newest completed sync at or before the period's end: "data as of"
--   evidence_until  the newest completed sync in the store, the instant detections also
--                   evaluate at: removals due after the period are judged on evidence up to it
-- Parameters: $period_end
SELECT
    max(as_of) FILTER (WHERE as_of <= $period_end) AS data_as_of,
    max(as_of) AS evidence_until
FROM sync_runs
WHERE status = 'ok'
