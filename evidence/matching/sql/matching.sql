-- Identity matching: which person owns each app account (current or since removed).
-- Output: account_facts' rows (account_owners' columns plus the account's own facts from its
-- latest version) for the accounts in scope, inserted into account_facts after matching.py
-- deleted those accounts' old rows. Scope: the temp table _match_rows(rid), always joined: the
-- rowids of every account version (matching_all.sql), or of the accounts matching_dirty.sql
-- found whose inputs changed since the last match.
-- Inputs: the current versions of people (HR), idp_users and accounts, and the temp table
-- _service_accounts(app, pattern, owner) from policy.
--
-- Order of evidence, first that yields a candidate wins:
--   service_account  policy names the account (app, user_name glob) and its owner
--   external_id      SCIM externalId = the IdP user id; that IdP user's person
--   email            account email or user name = an HR email
--   alias            ... = an HR alias (old address of a renamed person)
--   login            ... = an IdP login or email; that IdP user's person
--   assigned_name    user name = the one the IdP assigns its user in this app; that user's person
-- Candidates are then widened to every HR record of the same human (same person_id or the
-- same normalised email), and the best record decides the status: an active employment wins
-- over a leave, a leave over an old terminated record (rehires), latest hire first.
-- An IdP user with no HR record is a person of its own (idp_only), its status from the IdP's
-- canonical lifecycle: deprovisioned or deleted is terminated (at the status change the IdP
-- reports, else when the listings first showed the user ended), suspended is on leave.
INSERT INTO account_facts
WITH hr AS (
    SELECT p.person_id, p.hire_date, p.status, p.termination_date, p.employment_type,
           p.display_name, p.department, p.title,
           lower(trim(p.email)) AS email_key
    FROM people p
    WHERE p.valid_to IS NULL
),
hr_keys AS (
    SELECT DISTINCT email_key AS k, person_id, 'email' AS via FROM hr WHERE email_key <> ''
    UNION
    SELECT DISTINCT lower(trim(a.alias)) AS k, p.person_id, 'alias' AS via
    FROM people p, unnest(string_split(coalesce(p.aliases, ''), ';')) AS a(alias)
    WHERE p.valid_to IS NULL AND trim(a.alias) <> ''
),
-- When each ended IdP user's end began as the listings show it: the first version of its
-- unbroken run of ended versions (Entra records no instant of a disable).
idp_ended_since AS (
    SELECT user_id,
           min(valid_from) FILTER (WHERE ended AND valid_from > coalesce(last_live, '-infinity'))
               AS since
    FROM (
        SELECT v.user_id, v.valid_from, coalesce(v.lifecycle IN ('deprovisioned', 'deleted'),
                                                 false) AS ended,
               max(v.valid_from) FILTER (
                   WHERE NOT coalesce(v.lifecycle IN ('deprovisioned', 'deleted'), false))
                   OVER (PARTITION BY v.source, v.user_id) AS last_live
        FROM idp_users v
        SEMI JOIN (SELECT source, user_id FROM idp_users
                   WHERE valid_to IS NULL AND lifecycle IN ('deprovisioned', 'deleted')) c
          USING (source, user_id)
    )
    GROUP BY user_id
),
idp AS (
    SELECT i.user_id, i.lifecycle AS status, employee_number,
           CASE WHEN i.lifecycle IN ('deprovisioned', 'deleted')
                THEN least(i.status_changed_at, e.since) END AS status_changed_at,
           lower(trim(login)) AS login_key, lower(trim(email)) AS email_key,
           lower(trim(second_email)) AS email2_key
    FROM idp_users i LEFT JOIN idp_ended_since e USING (user_id)
    WHERE i.valid_to IS NULL
),
idp_keys_all AS (
    SELECT DISTINCT login_key AS k, user_id FROM idp WHERE login_key <> ''
    UNION SELECT DISTINCT email_key, user_id FROM idp WHERE email_key <> ''
),
-- A key HR knows always gives its account a rank 3-4 candidate, so the IdP's rank-5 one for
-- the same key can never win: left out here, on the small side, rather than ranked away later
-- over millions of accounts.
idp_keys AS (
    SELECT i.* FROM idp_keys_all i ANTI JOIN hr_keys h ON h.k = i.k
),
idp_person AS (
    SELECT user_id, person_id FROM idp_user_owners WHERE person_id IS NOT NULL
),
-- Every account ever listed, in its latest version: a deleted account keeps its owner, so
-- reports can still say whose access it was. The current version where there is one; for the
-- few accounts without, the last closed one (a window over every account cost seconds).
acc AS (
    SELECT a.app, a.account_id, a.user_name, a.active,
           lower(trim(a.email)) AS email_key, lower(trim(a.user_name)) AS user_key,
           a.external_id, true AS is_current,
           a.source, a.email, a.last_login_at, a.created_at, a.valid_from, a.attributes
    FROM accounts a SEMI JOIN _match_rows r ON a.rowid = r.rid
    WHERE a.valid_to IS NULL
    UNION ALL
    SELECT a.app, a.account_id, a.user_name, false,
           lower(trim(a.email)), lower(trim(a.user_name)),
           a.external_id, false,
           a.source, a.email, a.last_login_at, a.created_at, a.valid_from, a.attributes
    FROM accounts a SEMI JOIN _match_rows r ON a.rowid = r.rid
    SEMI JOIN (SELECT app, account_id FROM accounts WHERE valid_to IS NOT NULL
               EXCEPT SELECT app, account_id FROM accounts WHERE valid_to IS NULL) g
      USING (app, account_id)
    QUALIFY row_number() OVER (PARTITION BY a.app, a.account_id ORDER BY a.valid_to DESC) = 1
),
svc AS (
    SELECT a.app, a.account_id, min(s.owner) AS owner
    FROM acc a JOIN _service_accounts s
      ON lower(a.app) = lower(s.app) AND a.user_name GLOB s.pattern
    GROUP BY ALL
),
-- The identifiers an account offers: its email and its user name, normalised. Joining on
-- one key column keeps every join below an equi-join (hash join), never a nested loop.
acc_keys AS (
    SELECT app, account_id, email_key AS k FROM acc WHERE email_key <> ''
    UNION ALL
    SELECT app, account_id, user_key FROM acc
    WHERE user_key <> '' AND user_key IS DISTINCT FROM email_key
),
-- The user name the IdP provisions for its user in each app (Okta app user
-- credentials.userName, e.g. a GitHub handle): the IdP vouches that the account is that user's.
assigned_names_all AS (
    SELECT DISTINCT lower(app) AS app_key, lower(trim(user_name)) AS k, idp_user_id
    FROM assignments
    WHERE valid_to IS NULL AND trim(coalesce(user_name, '')) <> ''
),
-- Likewise, an assigned name that HR or the IdP knows as a key already ranks higher.
assigned_names AS (
    SELECT s.* FROM assigned_names_all s
    ANTI JOIN (SELECT k FROM hr_keys UNION SELECT k FROM idp_keys_all) x ON x.k = s.k
),
-- Candidate owners: (app, account_id, rank, via, person_id or idp user_id).
cand AS (
    SELECT a.app, a.account_id, 2 AS rank, 'external_id' AS via, ip.person_id, i.user_id
    FROM acc a JOIN idp i ON i.user_id = a.external_id
    LEFT JOIN idp_person ip ON ip.user_id = i.user_id
    UNION ALL
    SELECT a.app, a.account_id, CASE k.via WHEN 'email' THEN 3 ELSE 4 END, k.via, k.person_id, NULL
    FROM acc_keys a JOIN hr_keys k ON k.k = a.k
    UNION ALL
    SELECT a.app, a.account_id, 5, 'login', ip.person_id, k.user_id
    FROM acc_keys a JOIN idp_keys k ON k.k = a.k
    LEFT JOIN idp_person ip ON ip.user_id = k.user_id
    UNION ALL
    SELECT a.app, a.account_id, 6, 'assigned_name', ip.person_id, s.idp_user_id
    FROM acc a JOIN assigned_names s ON s.app_key = lower(a.app) AND s.k = a.user_key
    LEFT JOIN idp_person ip ON ip.user_id = s.idp_user_id
),
-- HR records of the same human: the same person_id, or the same normalised email (a rehire
-- under a new id).
same_human AS (
    SELECT DISTINCT person_id AS p1, person_id AS p2 FROM hr
    UNION
    SELECT h1.person_id, h2.person_id
    FROM hr h1 JOIN hr h2 ON h2.email_key = h1.email_key
    WHERE h1.email_key <> ''
),
-- The best HR record of each person's human, on the small side: an active employment wins
-- over a leave, a leave over an old terminated record (rehires), latest hire first. `k` is its
-- sort key, comparable across people.
person_best AS (
    SELECT s.p1 AS person_id,
           arg_min(struct_pack(person_id := h.person_id, status := h.status,
                               termination_date := h.termination_date),
                   struct_pack(
                       s := CASE h.status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END,
                       -- latest hire first, then latest termination, NULLs last
                       h := coalesce(-epoch_us(h.hire_date), 9223372036854775807),
                       t := coalesce(-epoch_us(h.termination_date), 9223372036854775807),
                       p := h.person_id)) AS r,
           min(struct_pack(
                       s := CASE h.status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END,
                       h := coalesce(-epoch_us(h.hire_date), 9223372036854775807),
                       t := coalesce(-epoch_us(h.termination_date), 9223372036854775807),
                       p := h.person_id)) AS k
    FROM same_human s JOIN hr h ON h.person_id = s.p2
    GROUP BY s.p1
),
-- Each account's owner in one aggregate (no window, no second pass over millions of
-- candidates): the lowest rank; at equal rank an HR person before an IdP-only user; then the
-- best record of the candidates' humans (IdP-only users: not deprovisioned first, then id).
best AS (
    SELECT c.app, c.account_id,
           arg_min(struct_pack(via := c.via, person_id := pb.r.person_id,
                               status := pb.r.status,
                               termination_date := pb.r.termination_date,
                               user_id := c.user_id, idp_status := i.status,
                               idp_changed_at := i.status_changed_at),
                   struct_pack(
                       rank := c.rank,
                       idp_only := pb.person_id IS NULL,
                       s := coalesce(pb.k.s, CASE WHEN i.status IN ('deprovisioned', 'deleted')
                                                  THEN 1 ELSE 0 END),
                       h := coalesce(pb.k.h, 0),
                       t := coalesce(pb.k.t, 0),
                       p := coalesce(pb.k.p, c.user_id),
                       via := c.via)) AS b
    FROM cand c
    LEFT JOIN person_best pb ON pb.person_id = c.person_id
    LEFT JOIN idp i ON i.user_id = c.user_id AND pb.person_id IS NULL
    WHERE pb.person_id IS NOT NULL OR i.user_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    a.app, a.account_id, a.user_name, a.active,
    CASE WHEN s.owner IS NOT NULL THEN s.owner
         ELSE coalesce(w.b.person_id, w.b.user_id) END AS person_id,
    CASE WHEN s.owner IS NOT NULL THEN 'hr'
         WHEN w.b.person_id IS NOT NULL THEN 'hr'
         WHEN w.b.user_id IS NOT NULL THEN 'idp_only' END AS person_kind,
    CASE WHEN s.owner IS NOT NULL THEN 'service_account'
         ELSE coalesce(w.b.via, 'none') END AS matched_by,
    CASE WHEN s.owner IS NOT NULL THEN NULL
         WHEN w.b.person_id IS NOT NULL THEN w.b.status
         WHEN w.b.user_id IS NULL THEN NULL
         WHEN w.b.idp_status IN ('deprovisioned', 'deleted') THEN 'terminated'
         WHEN w.b.idp_status = 'suspended' THEN 'leave'
         ELSE 'active' END AS person_status,
    CASE WHEN s.owner IS NOT NULL THEN NULL
         WHEN w.b.person_id IS NOT NULL THEN w.b.termination_date
         WHEN w.b.idp_status IN ('deprovisioned', 'deleted') THEN w.b.idp_changed_at
    END AS termination_at,
    s.owner IS NOT NULL AS service_account,
    a.is_current,
    -- The account's own facts, for the detections (not stored in account_owners).
    a.source, a.email, a.external_id, a.last_login_at, a.created_at, a.valid_from,
    a.attributes, a.user_key, a.email_key
FROM acc a
LEFT JOIN svc s USING (app, account_id)
LEFT JOIN best w USING (app, account_id)
