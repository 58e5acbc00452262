-- The detect runs a report can rely on: how many evaluated the store inside the period, and
-- the first and last of them, and how many the store holds up to the evidence cut-off. The
-- findings-based exceptions of every test come from these runs; with none, the report says
-- so on its summary page.
-- Parameters: $period_start, $period_end, $evidence_until
SELECT
    count(*) FILTER (WHERE as_of >= $period_start AND as_of < $period_end) AS in_period,
    min(as_of) FILTER (WHERE as_of >= $period_start AND as_of < $period_end) AS first_in_period,
    max(as_of) FILTER (WHERE as_of >= $period_start AND as_of < $period_end) AS last_in_period,
    count(*) AS total
FROM detect_runs
WHERE as_of <= $evidence_until
