-- Unique user identification: the population of HIPAA 164.312(a)(2)(i), ISO 27001 A.5.16 and
-- SOC 2 CC6.1 ("identifies and authenticates users").
--
-- One row per app account active at the data cut-off, plus one row per account that a
-- duplicate/multiple_accounts or orphan/unmatched finding open at the cut-off names although
-- no listing showed it active then. status is ok | exception; reason is a sentence.
--
-- Parameters
--   $as_of        data cut-off: an account is active when a version covering this instant
--                 lists it active (a source that reports no active flag lists active accounts)
--   $grace_hours  as the duplicate detection: a person terminated longer than this ago holds
--                 orphans, not duplicates
--
-- Ownership is the identity matcher's (account_facts, from the latest detect run). An account
-- is an exception when:
--   - it identifies nobody: it matches no person and is not an owned service account;
--   - it is one of two or more active accounts of one person in one app at the cut-off
--     (owned service accounts and orphans of a person terminated past the grace period not
--     counted, as in the duplicate_multiple_accounts detection);
--   - a duplicate/multiple_accounts or orphan/unmatched finding for it was open at the cut-off
--     (first seen at or before it, not resolved by it); an accepted risk is still an exception.
-- An owned service account is ok: the policy names its owner.
WITH
bounds AS (
    SELECT CAST($as_of AS TIMESTAMPTZ) AS as_of
),
-- One row per account: two sources listing the same account give it once (min() rather than
-- a struct arg_max: over millions of accounts the struct costs seconds).
active_at AS (
    SELECT a.app, a.account_id, min(a.user_name) AS user_name, true AS listed_active
    FROM accounts a
    WHERE a.valid_from <= (SELECT as_of FROM bounds)
      AND (a.valid_to IS NULL OR a.valid_to > (SELECT as_of FROM bounds))
      AND coalesce(a.active, true)
    GROUP BY a.app, a.account_id
),
flagged AS (
-- include: provisioning.sql finding_list
    WHERE ((f.kind = 'duplicate' AND f.subkind = 'multiple_accounts')
           OR (f.kind = 'orphan' AND f.subkind = 'unmatched'))
      AND f.app IS NOT NULL AND f.account_id IS NOT NULL
      AND f.first_seen_at <= (SELECT as_of FROM bounds)
      AND (f.resolved_at IS NULL OR f.resolved_at > (SELECT as_of FROM bounds))
    GROUP BY f.app, f.account_id
),
population AS (
    SELECT app, account_id, a.user_name, f.account AS finding_account,
           coalesce(a.listed_active, false) AS listed_active, f.finding
    FROM active_at a
    FULL JOIN flagged f USING (app, account_id)
),
owned AS (
    SELECT p.app, p.account_id,
           coalesce(p.user_name, o.user_name, p.finding_account, p.account_id) AS account,
           p.listed_active, p.finding,
           o.person_id, o.person_kind, o.matched_by, o.person_status, o.termination_at,
           o.app IS NOT NULL AS matched,
           coalesce(o.service_account, false) AS service_account
    FROM population p
    LEFT JOIN account_facts o ON o.app = p.app AND o.account_id = p.account_id
),
held AS (
    SELECT app, account_id, account, person_id
    FROM owned
    WHERE listed_active AND NOT service_account AND person_id IS NOT NULL
      AND NOT coalesce(person_status = 'terminated'
                       AND termination_at
                           + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT))
                           < (SELECT as_of FROM bounds), false)
),
-- The (app, person) pairs with more than one account first; the names are listed for those
-- only, not aggregated for millions of single accounts.
multi AS (
    SELECT app, person_id, count(*) AS n
    FROM held
    GROUP BY app, person_id
    HAVING count(*) > 1
),
duplicates AS (
    SELECT h.app, h.account_id, m.n,
           string_agg(h.account, ', ' ORDER BY h.account, h.account_id) OVER (
               PARTITION BY h.app, h.person_id) AS names
    FROM held h JOIN multi m USING (app, person_id)
),
-- Each person once: the name (HR's, else the IdP's) and whether the person is known to the
-- IdP only (no HR record, but an idp_only person record or an IdP user). One join of the
-- population, not four.
hr_people AS (
    SELECT person_id,
           arg_max(display_name, struct_pack(v := valid_from, n := display_name))
               AS display_name,
           bool_or(coalesce(employment_type, '') <> 'idp_only') AS has_hr
    FROM people
    WHERE valid_from <= (SELECT as_of FROM bounds)
    GROUP BY person_id
),
idp_people AS (
    SELECT user_id AS person_id,
           arg_max(coalesce(display_name, login),
                   struct_pack(v := valid_from, n := coalesce(display_name, login)))
               AS display_name
    FROM idp_users
    WHERE valid_from <= (SELECT as_of FROM bounds)
    GROUP BY user_id
),
persons AS (
    SELECT person_id, coalesce(h.display_name, i.display_name) AS display_name,
           NOT coalesce(h.has_hr, false) AS no_hr_record
    FROM hr_people h
    FULL JOIN idp_people i USING (person_id)
),
worded AS (
    SELECT o.*, d.n, d.names,
           n.display_name AS name,
           coalesce(o.person_kind = 'idp_only', false) OR coalesce(n.no_hr_record, false)
               AS idp_only,
           coalesce(n.display_name || ' (' || o.person_id || ')', o.person_id) AS who
    FROM owned o
    LEFT JOIN duplicates d ON d.app = o.app AND d.account_id = o.account_id
    LEFT JOIN persons n ON n.person_id = o.person_id
)
SELECT
    w.app,
    w.account,
    w.account_id,
    CASE WHEN NOT w.service_account THEN w.person_id END AS person_id,
    CASE WHEN NOT w.service_account THEN w.name END AS display_name,
    w.matched_by,
    CASE WHEN w.service_account THEN w.person_id END AS owner,
    CASE WHEN w.finding IS NOT NULL OR w.n IS NOT NULL
              OR (NOT w.service_account AND w.person_id IS NULL)
         THEN 'exception' ELSE 'ok' END AS status,
    CASE WHEN w.listed_active THEN ''
         ELSE 'Not listed active at the data cut-off '
              || strftime(timezone('UTC', CAST($as_of AS TIMESTAMPTZ)), '%Y-%m-%d %H:%M')
              || ' UTC. ' END
    || CASE
        WHEN w.service_account THEN 'An owned service account: the service-account policy '
            || 'names its owner ' || w.who || '.'
        WHEN w.person_id IS NULL AND NOT w.matched THEN 'No detect run has matched it to a '
            || 'person: it identifies nobody known.'
        WHEN w.person_id IS NULL THEN 'Identifies nobody: it matches no HR record or IdP user '
            || 'by externalId, email, alias or login, and no service-account policy names it.'
        WHEN w.n IS NOT NULL THEN 'One of ' || w.n || ' active accounts of ' || w.who
            || ' in ' || w.app || ' at the data cut-off (' || w.names || ').'
        -- The person is the row's person_id and display_name: not repeated in millions of
        -- reasons (a third of the file at enterprise scale).
        ELSE 'Matched by ' || coalesce(w.matched_by, 'nothing')
            || CASE WHEN w.idp_only
                    THEN ' to a person known to the identity provider only' ELSE '' END || '.'
    END
    || CASE WHEN w.finding IS NOT NULL
            THEN ' Monitoring raised ' || w.finding || ', open at the cut-off.' ELSE '' END
        AS reason
FROM worded w
ORDER BY w.app, w.account, w.account_id
