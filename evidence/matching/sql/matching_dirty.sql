-- The accounts whose owner may differ from the one account_facts holds: those whose match
-- inputs changed since detect run $w matched them. A superset is harmless (it is re-matched
-- to the same answer); a missed account would keep a stale owner, so every input of
-- matching.sql is covered:
--   the account's own keys              user name, email, externalId of a version opened or
--                                        closed since $w, where they differ from account_facts
--   HR keys (email, aliases)             of people rows opened or closed since $w
--   a person's best record (rehires)     every record sharing an id or email with such a row
--   IdP users                            rows opened or closed since $w, a changed HR person
--                                        (idp_user_owners, _idp_changed), or a person above
--   assigned user names                  assignment rows opened or closed since $w
-- A version opened since $w has a later run_id; one closed since has valid_to = the as_of of
-- a later run (load.py closes rows at the closing run's as_of). HR and IdP rows count only
-- where a column the matcher reads differs between the state at $w and now.
--
-- First, the latest version of every account with a version opened or closed since $w, as
-- matching.sql's `acc` reads it (keep the two in step; test_matching_incremental compares
-- the result with a full match). An account whose keys are unchanged only needs these facts
-- copied (matching_facts.sql): a new last login or attribute is not a new owner.
CREATE OR REPLACE TEMP TABLE _acc_touched AS
WITH opened AS (
    SELECT * FROM accounts WHERE valid_to IS NULL AND run_id > $w
),
-- Touched accounts without a current version opened since $w: removed ones (and, where an
-- earlier run shared a later one's as_of, unchanged ones). Few; their latest version is found
-- by the window, which over every touched account cost seconds.
rest AS (
    SELECT app, account_id FROM accounts
    WHERE valid_to IN (SELECT as_of FROM sync_runs WHERE run_id > $w AND status = 'ok')
    EXCEPT
    SELECT app, account_id FROM opened
)
SELECT a.app, a.account_id, a.user_name, a.active AND a.valid_to IS NULL AS active,
       lower(trim(a.email)) AS email_key, lower(trim(a.user_name)) AS user_key,
       a.external_id, a.valid_to IS NULL AS is_current,
       a.source, a.email, a.last_login_at, a.created_at, a.valid_from, a.attributes
FROM opened a
UNION ALL
SELECT a.app, a.account_id, a.user_name, a.active AND a.valid_to IS NULL AS active,
       lower(trim(a.email)) AS email_key, lower(trim(a.user_name)) AS user_key,
       a.external_id, a.valid_to IS NULL AS is_current,
       a.source, a.email, a.last_login_at, a.created_at, a.valid_from, a.attributes
FROM accounts a SEMI JOIN rest USING (app, account_id)
QUALIFY row_number() OVER (
    PARTITION BY a.app, a.account_id ORDER BY a.valid_to IS NULL DESC, a.valid_to DESC
) = 1;

CREATE OR REPLACE TEMP TABLE _match_scope AS
WITH runs AS (
    SELECT DISTINCT as_of FROM sync_runs WHERE run_id > $w AND status = 'ok'
),
-- HR and IdP rows as the matcher sees them (only the columns it reads), current at run $w
-- and current now; a row that changed only elsewhere (a manager, a last login) drops out.
people_then AS (
    SELECT source, person_id, hire_date, status, termination_date,
           lower(trim(email)) AS email_key, aliases
    FROM people
    WHERE run_id <= $w AND valid_to IN (SELECT as_of FROM runs)
),
people_now AS (
    SELECT source, person_id, hire_date, status, termination_date,
           lower(trim(email)) AS email_key, aliases
    FROM people
    WHERE run_id > $w AND valid_to IS NULL
),
ch_people AS (
    (SELECT * FROM people_then EXCEPT SELECT * FROM people_now)
    UNION
    (SELECT * FROM people_now EXCEPT SELECT * FROM people_then)
),
idp_then AS (
    SELECT source, user_id, login, email, second_email, status, lifecycle, status_changed_at,
           employee_number
    FROM idp_users
    WHERE run_id <= $w AND valid_to IN (SELECT as_of FROM runs)
),
idp_now AS (
    SELECT source, user_id, login, email, second_email, status, lifecycle, status_changed_at,
           employee_number
    FROM idp_users
    WHERE run_id > $w AND valid_to IS NULL
),
ch_idp AS (
    (SELECT user_id FROM (SELECT * FROM idp_then EXCEPT SELECT * FROM idp_now))
    UNION
    (SELECT user_id FROM (SELECT * FROM idp_now EXCEPT SELECT * FROM idp_then))
),
ch_assign AS (
    SELECT lower(app) AS app_key, lower(trim(user_name)) AS k, idp_user_id FROM assignments
    WHERE run_id > $w OR valid_to IN (SELECT as_of FROM runs)
),
hr AS (
    SELECT person_id, lower(trim(email)) AS email_key, aliases FROM people WHERE valid_to IS NULL
),
-- People whose best HR record may have changed.
persons AS (
    SELECT person_id FROM ch_people
    UNION
    SELECT h.person_id FROM hr h
    WHERE h.email_key <> '' AND h.email_key IN (SELECT email_key FROM ch_people)
),
hr_rows AS (
    SELECT email_key, aliases FROM ch_people
    UNION ALL
    SELECT email_key, aliases FROM hr WHERE person_id IN (SELECT person_id FROM persons)
),
users AS (
    SELECT user_id FROM ch_idp
    UNION SELECT user_id FROM _idp_changed
    UNION SELECT user_id FROM idp_user_owners WHERE person_id IN (SELECT person_id FROM persons)
),
-- Keys an account's email or user name may match (HR, and IdP login/email of those users).
keys AS (
    SELECT email_key AS k FROM hr_rows WHERE email_key <> ''
    UNION
    SELECT lower(trim(a.alias)) FROM hr_rows, unnest(string_split(coalesce(aliases, ''), ';')) AS a(alias)
    UNION
    SELECT lower(trim(login)) FROM idp_users WHERE user_id IN (SELECT user_id FROM users)
    UNION
    SELECT lower(trim(email)) FROM idp_users WHERE user_id IN (SELECT user_id FROM users)
),
-- (app, user name) pairs the IdP assigns those users, before or now.
assigned AS (
    SELECT app_key, k FROM ch_assign
    UNION
    SELECT lower(app), lower(trim(user_name)) FROM assignments
    WHERE valid_to IS NULL AND idp_user_id IN (SELECT user_id FROM users)
)
SELECT DISTINCT app, account_id FROM (
    SELECT t.app, t.account_id FROM _acc_touched t
    ANTI JOIN account_facts f
      ON f.app = t.app AND f.account_id = t.account_id
     AND f.user_name IS NOT DISTINCT FROM t.user_name
     AND f.email_key IS NOT DISTINCT FROM t.email_key
     AND f.user_key IS NOT DISTINCT FROM t.user_key
     AND f.external_id IS NOT DISTINCT FROM t.external_id
    UNION ALL
    SELECT app, account_id FROM account_facts WHERE email_key IN (SELECT k FROM keys)
    UNION ALL
    SELECT app, account_id FROM account_facts WHERE user_key IN (SELECT k FROM keys)
    UNION ALL
    SELECT app, account_id FROM account_facts WHERE external_id IN (SELECT user_id FROM users)
    UNION ALL
    SELECT f.app, f.account_id FROM account_facts f
    JOIN assigned s ON s.app_key = lower(f.app) AND s.k = f.user_key
);

-- The account versions of the accounts in scope, by rowid: what matching.sql joins (an
-- integer key joins at about twice the speed of (app, account_id) over millions of rows).
CREATE OR REPLACE TEMP TABLE _match_rows AS
SELECT a.rowid AS rid FROM accounts a SEMI JOIN _match_scope USING (app, account_id);
