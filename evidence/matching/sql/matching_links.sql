-- Which IdP users each current app account stands for: the bridge between the IdP's desired
-- state (assignments, pushed groups) and the apps' actual state. One row per (account, IdP
-- user), `via` the first link found (in this order), `active` the account's:
--   person          the matcher gave the account the IdP user's person (HR record, or the IdP
--                   user itself for an idp_only person)
--   external_id     the account's SCIM externalId is the IdP user's id
--   assigned_name   the account's user name is the one the IdP assigns that user in this app
-- Apps are keyed case-blind: an IdP names an app by its label ("GitHub"), its own source by
-- the configured name ("github"). Equi-joins only. Only apps the IdP manages (it assigns
-- someone to them or pushes a group to them) are linked: every reader joins the links to
-- assignments or pushed groups of the same app.
CREATE OR REPLACE TEMP TABLE _account_idp AS
WITH managed AS (
    SELECT DISTINCT lower(app) AS app_key FROM assignments WHERE valid_to IS NULL
    UNION
    SELECT DISTINCT lower(app) FROM group_push WHERE valid_to IS NULL
),
acc AS (
    SELECT app, lower(app) AS app_key, account_id, user_key, external_id, person_id, active
    FROM account_facts
    WHERE is_current AND lower(app) IN (SELECT app_key FROM managed)
),
idp AS (
    SELECT i.user_id, coalesce(u.person_id, i.user_id) AS person_id
    FROM idp_users i
    LEFT JOIN idp_user_owners u ON u.user_id = i.user_id
    WHERE i.valid_to IS NULL
)
-- The person link covers almost every pair; the other two add only pairs it lacks, so no
-- large de-duplication is needed (grouping millions of string keys was the cost here).
SELECT c.app, c.app_key, c.account_id, i.user_id, 'person' AS via, c.active
FROM acc c JOIN idp i ON i.person_id = c.person_id
UNION ALL
SELECT app, app_key, account_id, user_id, min(via), active FROM (
    SELECT c.app, c.app_key, c.account_id, i.user_id, 'external_id' AS via, c.active
    FROM acc c JOIN idp i ON i.user_id = c.external_id
    WHERE i.person_id IS DISTINCT FROM c.person_id
    UNION ALL
    SELECT c.app, c.app_key, c.account_id, s.idp_user_id, 'assigned_name', c.active
    FROM acc c
    JOIN assignments s ON lower(s.app) = c.app_key AND lower(trim(s.user_name)) = c.user_key
    JOIN idp i ON i.user_id = s.idp_user_id
    WHERE s.valid_to IS NULL AND i.person_id IS DISTINCT FROM c.person_id
)
GROUP BY ALL;
-- The app as its own source names it, keyed case-blind.
CREATE OR REPLACE TEMP TABLE _app_names AS
SELECT DISTINCT ON (lower(app)) lower(app) AS app_key, app
FROM accounts WHERE valid_to IS NULL
ORDER BY lower(app), app;
-- The IdP's current assignments, each with whether it grants access: not when the IdP itself
-- marks it INACTIVE or DEPROVISIONED, nor when its IdP user's lifecycle is deprovisioned or
-- deleted (an assignment left on a deactivated user grants nothing: Okta removes it, Entra
-- keeps it listed and disables the app account), nor when the source lists its users and this
-- one is not among them (deleted). app_key is the app's name lower-cased.
CREATE OR REPLACE TEMP TABLE _idp_assignments AS
WITH listed AS (SELECT DISTINCT source FROM idp_users WHERE valid_to IS NULL)
SELECT s.source, s.app AS idp_app, lower(s.app) AS app_key, s.idp_user_id, s.user_name,
       s.status, s.scope, s.groups, s.valid_from,
       coalesce(s.assigned_at, s.valid_from) AS assigned_at,
       coalesce(u.person_id, s.idp_user_id) AS person_id,
       i.status AS idp_status, i.lifecycle AS idp_lifecycle, i.login AS idp_login,
       coalesce(upper(s.status), '') NOT IN ('INACTIVE', 'DEPROVISIONED')
           AND coalesce(i.lifecycle, '') NOT IN ('deprovisioned', 'deleted')
           AND (i.user_id IS NOT NULL OR s.source NOT IN (SELECT source FROM listed))
           AS grants_access
FROM assignments s
LEFT JOIN idp_user_owners u ON u.user_id = s.idp_user_id
LEFT JOIN idp_users i ON i.user_id = s.idp_user_id AND i.valid_to IS NULL
WHERE s.valid_to IS NULL;
-- The IdP's desired state: the assignments that grant access.
CREATE OR REPLACE TEMP TABLE _desired_assignments AS
SELECT * EXCLUDE (grants_access) FROM _idp_assignments WHERE grants_access;
-- Accounts that stand for a desired assignment in their app. A person on leave keeps their
-- access (ARCHITECTURE.md): an account of theirs whose assignment is still listed stands for
-- it even when the IdP blocked the user's sign-in (Entra disables users on leave).
CREATE OR REPLACE TEMP TABLE _assigned_accounts AS
SELECT DISTINCT l.app, l.account_id
FROM _account_idp l
JOIN _desired_assignments s ON s.app_key = l.app_key AND s.idp_user_id = l.user_id
UNION
SELECT l.app, l.account_id
FROM _account_idp l
JOIN _idp_assignments s ON s.app_key = l.app_key AND s.idp_user_id = l.user_id
JOIN account_facts f ON f.app = l.app AND f.account_id = l.account_id AND f.is_current
WHERE NOT s.grants_access AND f.person_status = 'leave'
  AND coalesce(upper(s.status), '') NOT IN ('INACTIVE', 'DEPROVISIONED');
