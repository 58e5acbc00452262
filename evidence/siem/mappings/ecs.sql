-- ECS 8.11 documents for the events after a sink's cursor, one compact JSON text each, in seq
-- order. Mapping tables come in as parameters ($actions, $okta_types, $severities) so that the
-- data lives in ecs.py and no value is ever spliced into this text.
--
-- Okta System Log records (raw has `uuid` and `eventType`) are mapped as Elastic's Okta
-- integration maps them (user.* = actor, user.target.* = first target of type User,
-- user.target.group.* = first UserGroup, related.user in its order), so both agree in a SIEM
-- that holds both. Other sources map from the canonical columns.
WITH actions AS (
    SELECT unnest($actions, recursive := true)
),
okta_types AS (
    SELECT unnest($okta_types, recursive := true)
),
severities AS (
    SELECT unnest($severities, recursive := true)
),
batch AS (
    SELECT * FROM events WHERE seq > $after ORDER BY seq LIMIT $limit
),
shaped AS (
    -- One parse of raw and of details per event: every `->>` would parse them again.
    SELECT
        b.*,
        json_extract_string(b.raw, ['$.uuid', '$.eventType', '$.outcome.result',
            '$.displayMessage', '$.actor.id', '$.actor.alternateId', '$.actor.displayName'])
            AS r,
        b.action LIKE 'finding.%' AS is_finding
    FROM batch b
),
okta AS (
    SELECT
        s.*,
        s.r[1] IS NOT NULL AND s.r[2] IS NOT NULL AS is_okta,
        CASE WHEN s.r[1] IS NOT NULL AND s.r[2] IS NOT NULL
            THEN CAST(json_extract(s.raw, '$.target') AS JSON[]) END AS targets,
        CASE WHEN s.is_finding THEN json_extract_string(s.details, ['$.finding_id', '$.kind',
            '$.subkind', '$.severity', '$.status', '$.rule', '$.account', '$.explanation',
            '$.first_seen_at', '$.last_seen_at', '$.resolved_at']) END AS d,
        CASE WHEN s.is_finding THEN json_extract(s.details, '$.controls') END AS controls
    FROM shaped s
),
picked AS (
    SELECT
        o.*,
        list_filter(o.targets, lambda t: lower(t->>'type') = 'user')[1] AS t_user,
        list_filter(o.targets, lambda t: lower(t->>'type') = 'usergroup')[1] AS t_group
    FROM okta o
),
fields AS (
    SELECT
        o.seq, o.event_id, o.source, o.native_type, o.action, o.app, o.account_id,
        o.person_id, o.entitlement, o.inferred, o.event_hash, o.is_okta, o.is_finding,
        o.details, o.raw, o.d, o.controls,
        strftime(timezone('UTC', coalesce(o.occurred_at, o.ingested_at)),
            '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
        strftime(timezone('UTC', o.ingested_at), '%Y-%m-%dT%H:%M:%S.%gZ') AS ingested,
        CASE WHEN o.is_okta THEN o.native_id ELSE o.event_id END AS ev_id,
        CASE WHEN o.is_okta THEN o.r[2] ELSE o.action END AS ev_action,
        -- Elastic's rule for Okta (SUCCESS/ALLOW, FAILURE/DENY, else unknown); our canonical
        -- outcome otherwise, left out when the source reports none.
        CASE
            WHEN o.is_okta THEN CASE upper(o.r[3])
                WHEN 'SUCCESS' THEN 'success' WHEN 'ALLOW' THEN 'success'
                WHEN 'FAILURE' THEN 'failure' WHEN 'DENY' THEN 'failure'
                ELSE 'unknown' END
            WHEN lower(o.outcome) IN ('success', 'failure', 'unknown') THEN lower(o.outcome)
            WHEN o.outcome IS NOT NULL THEN 'unknown'
        END AS ev_outcome,
        CASE
            WHEN o.is_okta THEN nullif(o.r[4], '')
            WHEN o.is_finding THEN o.d[8]
        END AS message,
        CASE WHEN o.is_okta THEN nullif(o.r[5], '') END AS user_id,
        CASE WHEN o.is_okta THEN nullif(o.r[6], '') ELSE o.actor END
            AS user_name,
        CASE WHEN o.is_okta THEN nullif(o.r[7], '') END
            AS user_full_name,
        CASE WHEN o.is_okta THEN nullif(o.t_user->>'id', '')
            ELSE coalesce(o.account_id, o.person_id) END AS target_id,
        CASE WHEN o.is_finding THEN o.d[7] END AS target_name,
        CASE WHEN o.is_okta THEN nullif(o.t_user->>'displayName', '') END AS target_full_name,
        CASE WHEN o.is_okta THEN nullif(o.t_group->>'id', '') END AS target_group_id,
        CASE
            WHEN o.is_okta THEN nullif(o.t_group->>'displayName', '')
            WHEN o.action LIKE 'group.member.%' THEN o.entitlement
        END AS target_group_name,
        CASE WHEN o.action LIKE 'group.member.%' THEN o.entitlement END AS group_name,
        coalesce(ot.kind, a.kind, 'event') AS ev_kind,
        CASE WHEN ot.event_type IS NOT NULL THEN ot.category ELSE a.category END AS category,
        CASE WHEN ot.event_type IS NOT NULL THEN ot.type ELSE a.type END AS ev_type,
        sv.score AS severity
    FROM picked o
    LEFT JOIN okta_types ot ON o.is_okta AND ot.event_type = o.r[2]
    LEFT JOIN actions a ON a.action = o.action
    LEFT JOIN severities sv ON o.is_finding AND sv.severity = lower(o.d[4])
),
related AS (
    SELECT
        f.*,
        -- Okta: Elastic's order (actor display name, target display name, actor login),
        -- elsewhere every user identifier the event names.
        CASE WHEN f.is_okta THEN [f.user_full_name, f.target_full_name, f.user_name]
            ELSE [f.user_name, f.target_name, f.account_id, f.person_id] END AS rel_all
    FROM fields f
),
parts AS (
    SELECT
        r.*,
        -- Order-preserving distinct: Elastic appends with allow_duplicates false.
        nullif(list_filter(r.rel_all,
            lambda x, i: x IS NOT NULL AND NOT list_contains(r.rel_all[1:i - 1], x)),
            []::VARCHAR[]) AS related_user,
        CASE WHEN coalesce(r.target_group_id, r.target_group_name) IS NOT NULL
            THEN json_object('id', r.target_group_id, 'name', r.target_group_name)
        END AS target_group
    FROM related r
),
objects AS (
    SELECT
        p.*,
        CASE WHEN coalesce(p.target_id, p.target_name, p.target_full_name) IS NOT NULL
                OR p.target_group IS NOT NULL
            THEN json_object('id', p.target_id, 'name', p.target_name,
                'full_name', p.target_full_name, 'group', p.target_group)
        END AS target
    FROM parts p
),
core AS (
    SELECT
        seq, event_id, details, raw,
        -- merge-patching onto {} drops every null member, as Elastic's pipeline drops nulls,
        -- empty objects are avoided above by building them only when they have content.
        CAST(json_merge_patch('{}', json_object(
            '@timestamp', ts,
            'ecs', json_object('version', $ecs_version),
            'message', message,
            'event', json_object(
                'kind', ev_kind,
                'category', category,
                'type', ev_type,
                'action', ev_action,
                'outcome', ev_outcome,
                'id', ev_id,
                'created', ingested,
                'ingested', ingested,
                'hash', event_hash,
                'sequence', seq,
                'provider', source,
                'severity', severity
            ),
            'user', CASE WHEN coalesce(user_id, user_name, user_full_name) IS NOT NULL
                    OR target IS NOT NULL
                THEN json_object('id', user_id, 'name', user_name, 'full_name', user_full_name,
                    'target', target)
            END,
            'group', CASE WHEN group_name IS NOT NULL
                THEN json_object('id', CASE WHEN target_group_name = group_name
                    THEN target_group_id END, 'name', group_name)
            END,
            'related', CASE WHEN related_user IS NOT NULL
                THEN json_object('user', related_user) END,
            'rule', CASE WHEN is_finding THEN json_object(
                'id', concat_ws('.', d[2], d[3]),
                'name', coalesce(d[6], concat_ws('.', d[2], d[3])),
                'category', d[2],
                'ruleset', 'scim-evidence'
            ) END,
            -- Must stay last, and non-empty: details and raw are appended to it below.
            'scim_evidence', json_object(
                'action', action,
                'event_id', event_id,
                'source', source,
                'native_type', native_type,
                'app', app,
                'account_id', account_id,
                'person_id', person_id,
                'entitlement', entitlement,
                'inferred', inferred,
                'finding', CASE WHEN is_finding THEN json_object(
                    'id', d[1],
                    'kind', d[2],
                    'subkind', d[3],
                    'severity', d[4],
                    'status', d[5],
                    'rule', d[6],
                    'account', d[7],
                    'controls', controls,
                    'first_seen_at', strftime(timezone('UTC', TRY_CAST(d[9] AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'last_seen_at', strftime(timezone('UTC', TRY_CAST(d[10] AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'resolved_at', strftime(timezone('UTC', TRY_CAST(d[11] AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ')
                ) END
            )
        )) AS VARCHAR) AS body
    FROM objects
),
verbatim AS (
    SELECT
        seq, event_id, body,
        nullif(CAST(details AS VARCHAR), 'null') AS details_text,
        nullif(CAST(raw AS VARCHAR), 'null') AS raw_text
    FROM core
)
SELECT
    event_id,
    seq,
    -- details and raw go in as stored (nulls included), not null-stripped: they are the
    -- source's own record, which event.hash covers. Spliced in before the closing braces of
    -- scim_evidence and of the document; re-serialized only when stored with line breaks,
    -- which would split an NDJSON line (inside JSON strings they are always escaped).
    left(body, length(body) - 2)
        || CASE WHEN details_text IS NULL THEN ''
            WHEN contains(details_text, chr(10)) OR contains(details_text, chr(13))
                THEN ',"details":' || json(details_text)
            ELSE ',"details":' || details_text END
        || CASE WHEN raw_text IS NULL THEN ''
            WHEN contains(raw_text, chr(10)) OR contains(raw_text, chr(13))
                THEN ',"raw":' || json(raw_text)
            ELSE ',"raw":' || raw_text END
        || '}}' AS body
FROM verbatim
ORDER BY seq
