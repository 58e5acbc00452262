-- v_events: every event, with the app and the person resolved as analysts name them.
-- An IdP names an app by its label ("GitHub") where the app's own source says "github": `app`
-- is the store's name for it (the app's accounts, matched case-blind as the matcher does),
-- else the source's. `person_id` is the owner the matcher gave the event's account
-- (account_owners, by app and account id), else the HR person of the event's IdP user
-- (idp_user_owners; an IdP user without HR record is its own person), else the source's.
-- The source's values stay in native_app and native_person_id; person_via says which rule
-- gave person_id: account | idp_user | source.
CREATE OR REPLACE VIEW v_events AS
WITH app_names AS (
    SELECT lower(app) AS app_key, min(app) AS app FROM accounts GROUP BY 1
),
resolved AS (
    SELECT e.*, coalesce(n.app, e.app) AS store_app, o.person_id AS account_person,
           u.user_id AS idp_user, coalesce(u.person_id, u.user_id) AS idp_person
    FROM events e
    LEFT JOIN app_names n ON n.app_key = lower(e.app)
    LEFT JOIN account_facts o ON o.app = coalesce(n.app, e.app) AND o.account_id = e.account_id
    LEFT JOIN idp_user_owners u ON u.user_id = e.person_id
)
SELECT event_id, seq, run_id, source, native_id, native_type, occurred_at, ingested_at,
       action, outcome, actor,
       coalesce(account_person, idp_person, person_id) AS person_id,
       store_app AS app,
       account_id, entitlement, details, inferred, raw, event_hash,
       app AS native_app,
       person_id AS native_person_id,
       CASE WHEN account_person IS NOT NULL THEN 'account'
            WHEN idp_user IS NOT NULL THEN 'idp_user'
            WHEN person_id IS NOT NULL THEN 'source' END AS person_via
FROM resolved
