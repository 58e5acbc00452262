-- The event batch every mapping reads, derived once: ecs.sql, ocsf.sql and cef.sql include
-- these blocks (evidence/sql.py), so the formats agree on what a batch holds and on how a
-- malformed source record is tolerated. Blocks, in the order a mapping includes them:
--
-- `macros`: statements run before the mapping query (so a script is run with run_sql).
-- `batch`: CTEs `batch` … `picked`, one row per event with seq > $after, at most $limit, and
--   the raw Okta record and the finding details parsed once into named struct fields.
-- `network`: CTE `net` on top of `picked`: the client's network context of an Okta record.

-- shared: macros
-- An address Elasticsearch's `ip` type accepts, else NULL: Okta writes the string "null" for
-- a missing address, and a strict `ip` field would refuse the whole document for it. Dotted
-- IPv4, and IPv6 of hex groups (one `::` at most); anything else is left out, not guessed.
CREATE OR REPLACE TEMP MACRO scim_ip(x) AS CASE
    WHEN regexp_full_match(x, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}'
        || '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])') THEN x
    WHEN regexp_full_match(x, '[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}')
        AND NOT contains(x, ':::')
        AND (length(x) - length(replace(x, '::', ''))) <= 2
        AND (contains(x, '::') OR length(x) - length(replace(x, ':', '')) = 7)
        AND NOT regexp_matches(x, '(^:[^:])|([^:]:$)') THEN x
END;
-- A JSON object without its null members, or NULL when nothing is left: nested objects are
-- built only when they have content (json_merge_patch alone would leave `{}` behind).
CREATE OR REPLACE TEMP MACRO scim_obj(j) AS
    nullif(CAST(json_merge_patch('{}', j) AS VARCHAR), '{}')::JSON;
-- A stored JSON text as the member `,"<k>":<t>` spliced into a document before its closing
-- braces: as stored (nulls included, which the event hash covers), re-serialized only when it
-- holds line breaks, which would split an NDJSON line (inside JSON strings they are escaped).
CREATE OR REPLACE TEMP MACRO scim_member(k, t) AS CASE
    WHEN t IS NULL THEN ''
    WHEN contains(t, chr(10)) OR contains(t, chr(13)) THEN ',"' || k || '":' || json(t)
    ELSE ',"' || k || '":' || t END;
-- end shared: macros

-- shared: batch
batch AS (
    SELECT * FROM events WHERE seq > $after ORDER BY seq LIMIT $limit
),
shaped AS (
    -- One parse of raw and of details per event: every `->>` would parse them again.
    SELECT
        b.*,
        json_extract_string(b.raw, ['$.uuid', '$.eventType', '$.outcome.result',
            '$.outcome.reason', '$.displayMessage', '$.actor.id', '$.actor.alternateId',
            '$.actor.displayName', '$.published', '$.transaction.id']) AS r,
        b.action LIKE 'finding.%' AS is_finding
    FROM batch b
),
okta AS (
    SELECT
        s.* EXCLUDE (r),
        -- An Okta System Log record has a uuid and an eventType; only then are these read.
        s.r[1] IS NOT NULL AND s.r[2] IS NOT NULL AS is_okta,
        CASE WHEN s.r[1] IS NOT NULL AND s.r[2] IS NOT NULL THEN {
            'uuid': s.r[1], 'event_type': s.r[2], 'result': s.r[3], 'reason': s.r[4],
            'message': s.r[5], 'actor_id': s.r[6], 'actor_login': s.r[7],
            'actor_name': s.r[8], 'published': s.r[9], 'transaction_id': s.r[10]
        } END AS ok,
        -- TRY_CAST: a malformed target list must not fail the batch and stall the sink.
        CASE WHEN s.r[1] IS NOT NULL AND s.r[2] IS NOT NULL
            THEN TRY_CAST(json_extract(s.raw, '$.target') AS JSON[]) END AS targets,
        CASE WHEN s.is_finding THEN json_extract_string(s.details, ['$.finding_id', '$.kind',
            '$.subkind', '$.severity', '$.status', '$.rule', '$.account', '$.explanation',
            '$.first_seen_at', '$.last_seen_at', '$.resolved_at']) END AS d,
        CASE WHEN s.is_finding THEN json_extract(s.details, '$.controls') END AS controls
    FROM shaped s
),
picked AS (
    SELECT
        o.* EXCLUDE (d),
        CASE WHEN o.is_finding THEN {
            'id': o.d[1], 'kind': o.d[2], 'subkind': o.d[3], 'severity': o.d[4],
            'status': o.d[5], 'rule': o.d[6], 'account': o.d[7], 'explanation': o.d[8],
            'first_seen_at': o.d[9], 'last_seen_at': o.d[10], 'resolved_at': o.d[11]
        } END AS fd,
        list_filter(o.targets, lambda t: lower(t->>'type') = 'user')[1] AS t_user,
        list_filter(o.targets, lambda t: lower(t->>'type') = 'usergroup')[1] AS t_group,
        list_filter(o.targets, lambda t: lower(t->>'type') = 'appgroup')[1] AS t_appgroup
    FROM okta o
),
-- end shared: batch

-- shared: network
net AS (
    -- The client of an Okta record, as JSON values (numbers stay numbers), parsed once.
    SELECT
        p.*,
        CASE WHEN p.is_okta THEN json_extract(p.raw, ['$.client.ipAddress',
            '$.client.userAgent.rawUserAgent', '$.client.geographicalContext.city',
            '$.client.geographicalContext.state', '$.client.geographicalContext.country',
            '$.client.geographicalContext.postalCode',
            '$.client.geographicalContext.geolocation.lat',
            '$.client.geographicalContext.geolocation.lon']) END AS cl
    FROM picked p
),
-- end shared: network
