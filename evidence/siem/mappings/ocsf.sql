-- include: batch.sql macros
-- OCSF 1.5.0 documents for the events after a sink's cursor, one compact JSON text each, in
-- seq order. Class tables come in as parameters ($actions, $okta_types, $okta_prefixes, $other,
-- $finding_status, $severities) so that the data lives in ocsf.py and no value is ever
-- spliced into this text. Every event in the batch yields one row: each join is a LEFT JOIN
-- on a unique key and the unmapped rest falls back to $other. The batch and the client's
-- network context come from batch.sql.
WITH actions AS (
    SELECT u.action, u.cls FROM (SELECT unnest($actions) AS u)
),
okta_types AS (
    SELECT u.event_type, u.cls FROM (SELECT unnest($okta_types) AS u)
),
finding_status AS (
    SELECT unnest($finding_status, recursive := true)
),
severities AS (
    SELECT unnest($severities, recursive := true)
),
-- include: batch.sql batch
-- include: batch.sql network
classed AS (
    SELECT
        p.*,
        -- An Okta type with an exact OCSF activity wins over its (unmapped) canonical action,
        -- an Okta family prefix only over the catch-all. A list lookup, not a join: two
        -- matching prefixes must not turn one event into two rows.
        coalesce(ot.cls, a.cls, CASE WHEN p.is_okta THEN list_filter($okta_prefixes,
            lambda x: starts_with(p.ok.event_type, x.prefix))[1].cls END, $other) AS c,
        fs.status_id AS finding_status_id,
        fs.status AS finding_status,
        sv.severity_id AS finding_severity_id,
        sv.caption AS finding_severity
    FROM net p
    LEFT JOIN okta_types ot ON p.is_okta AND ot.event_type = p.ok.event_type
    LEFT JOIN actions a ON a.action = p.action
    LEFT JOIN finding_status fs ON p.is_finding AND fs.action = p.action
    LEFT JOIN severities sv ON p.is_finding AND sv.severity = lower(p.fd.severity)
),
fields AS (
    SELECT
        k.seq, k.event_id, k.source, k.native_type, k.action, k.actor, k.person_id, k.app,
        k.account_id, k.entitlement, k.inferred, k.event_hash, k.details, k.is_okta,
        nullif(CAST(k.raw AS VARCHAR), 'null') AS raw_text,
        k.c.class_uid, k.c.class_name, k.c.category_uid, k.c.category_name, k.c.activity_id,
        k.c.class_uid * 100 + k.c.activity_id AS type_uid,
        k.c.class_name || ': ' || k.c.activity_name AS type_name,
        -- OCSF: for Other (99) the activity name carries the source's own label.
        CASE WHEN k.c.activity_id = 99 THEN k.action ELSE k.c.activity_name END
            AS activity_name,
        CASE WHEN k.is_finding THEN coalesce(k.finding_severity_id, 0) ELSE 1 END
            AS severity_id,
        CASE WHEN k.is_finding THEN coalesce(k.finding_severity, 'Unknown')
            ELSE 'Informational' END AS severity,
        CASE
            WHEN k.is_finding THEN k.finding_status_id
            WHEN lower(k.outcome) = 'success' THEN 1
            WHEN lower(k.outcome) = 'failure' THEN 2
            WHEN k.outcome IS NOT NULL THEN 0
        END AS status_id,
        CASE
            WHEN k.is_finding THEN k.finding_status
            WHEN lower(k.outcome) = 'success' THEN 'Success'
            WHEN lower(k.outcome) = 'failure' THEN 'Failure'
            WHEN k.outcome IS NOT NULL THEN 'Unknown'
        END AS status,
        CASE WHEN k.is_okta THEN nullif(k.ok.result, '') END AS status_code,
        CASE WHEN k.is_okta THEN nullif(k.ok.reason, '') END AS status_detail,
        -- Epoch ms truncated, not rounded, so they agree with ECS's @timestamp.
        epoch_us(coalesce(k.occurred_at, k.ingested_at)) // 1000 AS ev_time,
        epoch_us(k.ingested_at) // 1000 AS logged_time,
        CASE
            WHEN k.is_okta THEN nullif(k.ok.message, '')
            WHEN k.is_finding THEN k.fd.explanation
        END AS message,
        CASE WHEN k.is_okta THEN k.native_id ELSE k.event_id END AS uid,
        CASE WHEN k.is_okta THEN k.ok.published END AS original_time,
        CASE WHEN k.is_okta THEN nullif(k.ok.transaction_id, '') END AS correlation_uid,
        CASE WHEN k.is_okta THEN nullif(k.ok.actor_id, '') END AS actor_uid,
        CASE WHEN k.is_okta THEN nullif(k.ok.actor_login, '') ELSE k.actor END AS actor_name,
        CASE WHEN k.is_okta THEN nullif(k.ok.actor_name, '') END AS actor_full_name,
        CASE WHEN k.is_okta THEN nullif(k.t_user->>'id', '')
            ELSE coalesce(k.account_id, k.person_id) END AS user_uid,
        CASE WHEN NOT k.is_okta AND k.account_id IS NOT NULL THEN k.person_id END
            AS user_uid_alt,
        CASE WHEN k.is_okta THEN nullif(k.t_user->>'alternateId', '') END AS user_name,
        CASE WHEN k.is_okta THEN nullif(k.t_user->>'displayName', '') END AS user_full_name,
        CASE WHEN k.is_okta THEN nullif(coalesce(k.t_group, k.t_appgroup)->>'id', '') END AS group_uid,
        coalesce(CASE WHEN k.is_okta THEN nullif(coalesce(k.t_group, k.t_appgroup)->>'displayName', '') END,
            k.entitlement) AS group_name,
        -- Okta's client: its address and place, and the raw user agent (OCSF's location
        -- country and region are codes, which Okta does not give; its names stay in raw_data).
        CASE WHEN k.is_okta THEN scim_obj(json_object(
            'ip', scim_ip(k.cl[1]->>'$'),
            'location', scim_obj(json_object('city', k.cl[3], 'postal_code', k.cl[6],
                'lat', CASE WHEN json_type(k.cl[7]) IN ('DOUBLE', 'BIGINT', 'UBIGINT')
                    THEN k.cl[7] END,
                'long', CASE WHEN json_type(k.cl[8]) IN ('DOUBLE', 'BIGINT', 'UBIGINT')
                    THEN k.cl[8] END))
        )) END AS src_endpoint,
        CASE WHEN k.is_okta THEN scim_obj(json_object('user_agent', k.cl[2])) END
            AS http_request,
        CASE WHEN k.is_finding THEN json_object(
            'uid', k.fd.id,
            'title', nullif(concat_ws('/', k.fd.kind, k.fd.subkind), ''),
            'desc', k.fd.explanation,
            'first_seen_time', epoch_us(TRY_CAST(k.fd.first_seen_at AS TIMESTAMPTZ)) // 1000,
            'last_seen_time', epoch_us(TRY_CAST(k.fd.last_seen_at AS TIMESTAMPTZ)) // 1000,
            'analytic', json_object(
                'uid', nullif(concat_ws('.', k.fd.kind, k.fd.subkind), ''),
                'name', coalesce(k.fd.rule, nullif(concat_ws('.', k.fd.kind, k.fd.subkind), '')),
                'category', k.fd.kind,
                'type_id', 1,
                'type', 'Rule'
            )
        ) END AS finding_info,
        CASE WHEN k.is_finding THEN nullif(list_filter([
            CASE WHEN coalesce(k.account_id, k.fd.account) IS NOT NULL
                THEN json_object('type', 'Account', 'uid', k.account_id, 'name', k.fd.account) END,
            CASE WHEN k.app IS NOT NULL
                THEN json_object('type', 'Application', 'name', k.app) END,
            CASE WHEN k.person_id IS NOT NULL
                THEN json_object('type', 'User', 'uid', k.person_id) END
        ], lambda x: x IS NOT NULL), []) END AS finding_resources
    FROM classed k
),
objects AS (
    SELECT
        f.*,
        CASE WHEN coalesce(f.actor_uid, f.actor_name, f.actor_full_name) IS NOT NULL
            THEN json_object('uid', f.actor_uid, 'name', f.actor_name,
                'full_name', f.actor_full_name) END AS actor_user,
        CASE WHEN coalesce(f.user_uid, f.user_name, f.user_full_name) IS NOT NULL
            THEN json_object('uid', f.user_uid, 'uid_alt', f.user_uid_alt, 'name', f.user_name,
                'full_name', f.user_full_name) END AS target_user
    FROM fields f
),
core AS (
    SELECT
        seq, event_id, details,
        -- merge-patching onto {} drops every null member; objects are built only when they
        -- have content, so no empty object is left behind.
        CAST(json_merge_patch('{}', json_object(
            'activity_id', activity_id,
            'activity_name', activity_name,
            'category_uid', category_uid,
            'category_name', category_name,
            'class_uid', class_uid,
            'class_name', class_name,
            'type_uid', type_uid,
            'type_name', type_name,
            'severity_id', severity_id,
            'severity', severity,
            'status_id', status_id,
            'status', status,
            'status_code', status_code,
            'status_detail', status_detail,
            'time', ev_time,
            'message', message,
            'metadata', json_object(
                'version', $version,
                'product', $product,
                'uid', uid,
                'event_code', native_type,
                'log_provider', source,
                'logged_time', logged_time,
                'original_time', original_time,
                'correlation_uid', correlation_uid,
                'sequence', seq
            ),
            -- Findings have no actor or user in OCSF; Authentication's user is whoever
            -- signed in, the actor when the source names no other target.
            'actor', CASE WHEN class_uid <> 2004 AND actor_user IS NOT NULL
                THEN json_object('user', actor_user) END,
            'user', CASE WHEN class_uid = 2004 THEN NULL
                WHEN class_uid = 3002 THEN coalesce(target_user, actor_user)
                ELSE target_user END,
            'group', CASE WHEN class_uid = 3006 AND coalesce(group_uid, group_name) IS NOT NULL
                THEN json_object('uid', group_uid, 'name', group_name) END,
            'privileges', CASE WHEN class_uid = 3005 AND entitlement IS NOT NULL
                THEN [entitlement] END,
            'resources', CASE
                WHEN class_uid = 3005 AND app IS NOT NULL
                    THEN [json_object('type', 'Application', 'name', app)]
                WHEN class_uid = 2004 THEN finding_resources
            END,
            -- The IAM classes have a source endpoint and an HTTP request; findings do not.
            'src_endpoint', CASE WHEN class_uid <> 2004 THEN src_endpoint END,
            'http_request', CASE WHEN class_uid <> 2004 THEN http_request END,
            'finding_info', finding_info,
            'raw_data', raw_text,
            -- Must stay last, and non-empty: details is appended to it below.
            'unmapped', json_object('scim_evidence', json_object(
                'event_id', event_id,
                'event_hash', event_hash,
                'action', action,
                'source', source,
                'native_type', native_type,
                'actor', actor,
                'person_id', person_id,
                'app', app,
                'account_id', account_id,
                'entitlement', entitlement,
                'inferred', inferred
            ))
        )) AS VARCHAR) AS body
    FROM objects
),
verbatim AS (
    SELECT seq, event_id, body, nullif(CAST(details AS VARCHAR), 'null') AS details_text
    FROM core
)
SELECT
    event_id,
    seq,
    -- details goes in as stored, before the closing braces of scim_evidence, unmapped and
    -- the document (scim_member, batch.sql).
    left(body, length(body) - 3)
        || scim_member('details', details_text)
        || '}}}' AS body
FROM verbatim
ORDER BY seq
