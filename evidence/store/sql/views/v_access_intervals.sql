-- v_access_intervals: each continuous spell of access the listings show, one row per spell.
-- entitlement NULL: the account itself was active (versions with active true or unset);
-- otherwise the account held that grant, as listed (whether or not the account was active
-- then: join the account's own row for effective access). Consecutive versions (a new version
-- opened where the last closed, e.g. on a new last login) are one spell. valid_to NULL: still
-- held. person_id is the account's owner as the matcher decided (NULL: unmatched). evidence:
-- the versions that prove the spell, as [{table, source, run_id, valid_from}] in order.
CREATE OR REPLACE VIEW v_access_intervals AS
WITH versions AS (
    SELECT 'accounts' AS tbl, source, app, account_id, NULL::VARCHAR AS entitlement,
           user_name, run_id, valid_from, valid_to
    FROM accounts WHERE coalesce(active, true)
    UNION ALL
    SELECT 'grants', source, app, account_id, entitlement, NULL, run_id, valid_from, valid_to
    FROM grants
),
marked AS (
    SELECT *,
           -- a spell starts where the version before it (if any) did not end at this instant
           coalesce(lag(valid_to) OVER w <> valid_from, true) AS starts
    FROM versions
    WINDOW w AS (PARTITION BY tbl, source, app, account_id, entitlement ORDER BY valid_from)
),
spells AS (
    SELECT *, sum(CAST(starts AS INTEGER)) OVER (
        PARTITION BY tbl, source, app, account_id, entitlement ORDER BY valid_from) AS spell
    FROM marked
),
merged AS (
    SELECT tbl, source, app, account_id, entitlement,
           min(valid_from) AS valid_from,
           CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS valid_to,
           to_json(list({'table': tbl, 'source': source, 'run_id': run_id,
                         'valid_from': valid_from} ORDER BY valid_from)) AS evidence
    FROM spells
    GROUP BY tbl, source, app, account_id, entitlement, spell
),
-- The account's user name: its latest listed one.
names AS (
    SELECT app, account_id, arg_max(user_name, valid_from) AS account
    FROM accounts GROUP BY app, account_id
)
SELECT f.person_id, m.app, m.account_id, n.account, m.entitlement, m.valid_from, m.valid_to,
       m.evidence
FROM merged m
LEFT JOIN names n USING (app, account_id)
LEFT JOIN account_facts f USING (app, account_id)
