-- This run's findings with their deterministic ids and intended status: `accepted` while a
-- matching accepted risk (owner, ticket, expiry) is unexpired, else `open`.
CREATE OR REPLACE TEMP TABLE _next AS
WITH ided AS (
    SELECT *,
        sha256(concat_ws('|', kind, subkind, coalesce(app, ''), coalesce(account_id, ''),
                         coalesce(entitlement, ''), coalesce(person_id, ''),
                         coalesce(rule, ''))) AS finding_id
    FROM _found
),
risk AS (
    SELECT i.finding_id, r.owner, r.ticket, r.expires
    FROM ided i JOIN _accepted_in r
      ON r.kind = i.kind
     AND (r.subkind IS NULL OR r.subkind = i.subkind)
     AND (r.app IS NULL OR lower(r.app) = lower(i.app))
     AND (r.account IS NULL OR i.account GLOB r.account)
     AND (r.entitlement IS NULL OR r.entitlement = i.entitlement)
     AND (r.person_id IS NULL OR r.person_id = i.person_id)
    WHERE r.expires > $now
    QUALIFY row_number() OVER (PARTITION BY i.finding_id ORDER BY r.expires DESC, r.ticket) = 1
)
SELECT i.*,
       CASE WHEN r.finding_id IS NULL THEN 'open' ELSE 'accepted' END AS status,
       r.owner AS accepted_owner, r.ticket AS accepted_ticket, r.expires AS accepted_until
FROM ided i LEFT JOIN risk r USING (finding_id)
QUALIFY row_number() OVER (PARTITION BY i.finding_id ORDER BY i.explanation) = 1
