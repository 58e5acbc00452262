-- The HR person behind each IdP user: employee number first, then the user's email or login
-- against HR emails and aliases (lower-cased, trimmed). No match: an idp_only person.
-- As in the account matcher, candidates widen to every HR record of the same human (same
-- person_id or the same normalised email: a rehire under a new id), and at equal rank the
-- human's best record wins: an active employment over a leave over an old terminated record,
-- latest hire first. Without that, a rehire's old record (a lower id) would win.
CREATE OR REPLACE TEMP TABLE _idp_owners_new AS
WITH hr AS (
    SELECT person_id, lower(trim(email)) AS email_key, status, hire_date, termination_date
    FROM people WHERE valid_to IS NULL
),
same_human AS (
    SELECT DISTINCT person_id AS p1, person_id AS p2 FROM hr
    UNION
    SELECT h1.person_id, h2.person_id
    FROM hr h1 JOIN hr h2 ON h2.email_key = h1.email_key
    WHERE h1.email_key <> ''
),
hr_keys AS (
    SELECT DISTINCT email_key AS k, person_id FROM hr WHERE email_key <> ''
    UNION
    SELECT DISTINCT lower(trim(a.alias)), p.person_id
    FROM people p, unnest(string_split(coalesce(p.aliases, ''), ';')) AS a(alias)
    WHERE p.valid_to IS NULL AND trim(a.alias) <> ''
),
idp AS (
    SELECT user_id, employee_number,
           lower(trim(login)) AS login_key, lower(trim(email)) AS email_key
    FROM idp_users WHERE valid_to IS NULL
),
-- One key per row, so the join below is an equi-join (an IN-join is a nested loop).
idp_keys AS (
    SELECT user_id, email_key AS k FROM idp WHERE email_key <> ''
    UNION
    SELECT user_id, login_key FROM idp WHERE login_key <> ''
),
cand AS (
    SELECT i.user_id, h.person_id, 1 AS rank, 'employee_number' AS via
    FROM idp i JOIN hr h ON h.person_id = i.employee_number
    UNION ALL
    SELECT i.user_id, k.person_id, 2, 'email'
    FROM idp_keys i JOIN hr_keys k ON k.k = i.k
),
widened AS (
    SELECT c.user_id, c.rank, c.via, h.person_id,
           CASE h.status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END AS s,
           h.hire_date, h.termination_date
    FROM cand c
    JOIN same_human w ON w.p1 = c.person_id
    JOIN hr h ON h.person_id = w.p2
),
best AS (
    SELECT user_id, person_id, via FROM widened
    QUALIFY row_number() OVER (
        PARTITION BY user_id
        ORDER BY rank, s, hire_date DESC NULLS LAST, termination_date DESC NULLS LAST,
                 person_id) = 1
)
SELECT i.user_id, b.person_id, coalesce(b.via, 'none')
FROM (SELECT DISTINCT user_id FROM idp) i LEFT JOIN best b USING (user_id)
