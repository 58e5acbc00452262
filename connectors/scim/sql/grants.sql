-- The grants snapshot: group memberships (from either side), roles and entitlements.
WITH grp AS (
    SELECT id AS gid, name, members FROM groups WHERE present
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY file DESC, idx DESC) = 1
), member AS (
    SELECT m.value AS account_id, name AS entitlement, 'group' AS kind, 1 AS rank
    FROM (SELECT name, unnest(members) AS m FROM grp)
    WHERE m.value IN (SELECT id FROM accts)
      AND (m."type" IS NULL OR lower(m."type") = 'user')
), own AS (
    SELECT id AS account_id, unnest(groups) AS g, unnest(roles) AS ro,
           unnest(entitlements) AS en
    FROM accts
), listed AS (
    SELECT own.account_id, coalesce(grp.name, own.g.display) AS entitlement,
           'group' AS kind, 1 AS rank
    FROM own LEFT JOIN grp ON grp.gid = own.g.value WHERE own.g IS NOT NULL
    UNION ALL
    SELECT account_id, coalesce(ro.value, ro.display), 'role', 2 FROM own WHERE ro IS NOT NULL
    UNION ALL
    SELECT account_id, coalesce(en.value, en.display), 'entitlement', 3
    FROM own WHERE en IS NOT NULL
), every AS (SELECT * FROM member UNION ALL SELECT * FROM listed)
SELECT $app AS app, account_id, entitlement, kind AS entitlement_type,
       NULL::TIMESTAMPTZ AS expires_at
FROM every WHERE entitlement IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY account_id, entitlement ORDER BY rank) = 1
ORDER BY account_id, entitlement
