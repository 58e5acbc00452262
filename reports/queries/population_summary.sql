-- Inventory at the data cut-off: the figures the report's tests are drawn from.
-- Returns (ord, figure, value), one row per figure, in print order.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period (for the terminations in it)
--   $as_of                      data cut-off: every figure is the store's state at this instant
--
-- Terminations are counted exactly as deprovisioning.sql draws its population, so the two
-- reconcile: the latest version of each HR record known at the cut-off.
WITH
people_at AS (
    SELECT person_id, status
    FROM people
    WHERE valid_from <= $as_of AND (valid_to IS NULL OR valid_to > $as_of)
),
hr AS (
    SELECT person_id, hire_date, termination_date
    FROM people
    WHERE valid_from <= $as_of AND coalesce(employment_type, '') <> 'idp_only'
    QUALIFY row_number() OVER (
        PARTITION BY source, person_id, hire_date ORDER BY valid_from DESC) = 1
),
terminations AS (
    SELECT DISTINCT person_id, termination_date
    FROM hr
    WHERE termination_date >= $period_start AND termination_date < $period_end
),
accounts_at AS (
    SELECT app, account_id, coalesce(active, true) AS active
    FROM accounts
    WHERE valid_from <= $as_of AND (valid_to IS NULL OR valid_to > $as_of)
),
-- Open at the cut-off: raised by then and not resolved by then (an accepted risk stays open).
findings_at AS (
    SELECT kind
    FROM findings
    WHERE first_seen_at <= $as_of AND (resolved_at IS NULL OR resolved_at > $as_of)
),
figures AS (
    SELECT 1 AS ord, 'People (HR and identity provider records)' AS figure,
           (SELECT count(DISTINCT person_id) FROM people_at) AS value
    UNION ALL
    SELECT 2, 'Active people',
           (SELECT count(DISTINCT person_id) FROM people_at WHERE status = 'active')
    UNION ALL
    SELECT 3, 'HR terminations in the period', (SELECT count(*) FROM terminations)
    UNION ALL
    SELECT 4, 'Apps with collected user lists', (SELECT count(DISTINCT app) FROM accounts_at)
    UNION ALL
    SELECT 5, 'Accounts', (SELECT count(*) FROM (SELECT DISTINCT app, account_id FROM accounts_at))
    UNION ALL
    SELECT 6, 'Active accounts',
           (SELECT count(*) FROM (SELECT DISTINCT app, account_id FROM accounts_at WHERE active))
    UNION ALL
    SELECT 7, 'Open findings, all kinds', (SELECT count(*) FROM findings_at)
    UNION ALL
    SELECT 8 + row_number() OVER (ORDER BY kind), 'Open findings: ' || kind, count(*)
    FROM findings_at
    GROUP BY kind
)
SELECT ord, figure, value FROM figures ORDER BY ord
