-- include: batch.sql macros
-- ECS 8.11 documents for the events after a sink's cursor, one compact JSON text each, in seq
-- order. Mapping tables come in as parameters ($actions, $okta_types, $severities) so that the
-- data lives in ecs.py and no value is ever spliced into this text.
--
-- Okta System Log records (raw has `uuid` and `eventType`) are mapped as Elastic's Okta
-- integration maps them (user.* = actor, user.target.* = first target of type User,
-- user.target.group.* = first UserGroup, related.user in its order), so both agree in a SIEM
-- that holds both, with the client's network context (source.*, client.*, user_agent.*) and
-- Okta's own fields under okta.*; Entra provisioning records (raw has `jobId` and
-- `provisioningAction`) add Elastic's azure.provisioning.properties.*. Other sources map from
-- the canonical columns. The batch and the network context come from batch.sql.
WITH actions AS (
    SELECT unnest($actions, recursive := true)
),
okta_types AS (
    SELECT unnest($okta_types, recursive := true)
),
severities AS (
    SELECT unnest($severities, recursive := true)
),
-- include: batch.sql batch
-- include: batch.sql network
vendor AS (
    -- The vendor's own fields, as JSON values, each record parsed once.
    SELECT
        n.*,
        CASE WHEN n.is_okta THEN json_extract(n.raw, ['$.displayMessage', '$.outcome.reason',
            '$.outcome.result', '$.actor.id', '$.actor.alternateId', '$.actor.displayName',
            '$.actor.type', '$.client.device', '$.client.id', '$.client.zone',
            '$.client.userAgent.browser', '$.client.userAgent.os',
            '$.authenticationContext.authenticationProvider',
            '$.authenticationContext.authenticationStep',
            '$.authenticationContext.credentialProvider',
            '$.authenticationContext.credentialType',
            '$.authenticationContext.externalSessionId', '$.authenticationContext.interface',
            '$.authenticationContext.rootSessionId', '$.securityContext.asNumber',
            '$.securityContext.asOrg', '$.securityContext.domain', '$.securityContext.isProxy',
            '$.securityContext.isp', '$.debugContext.debugData',
            '$.debugContext.debugData.requestId', '$.debugContext.debugData.requestUri',
            '$.debugContext.debugData.url', '$.debugContext.debugData.threatSuspected',
            '$.debugContext.debugData.deviceFingerprint', '$.debugContext.debugData.dtHash',
            '$.debugContext.debugData.factor', '$.transaction.id', '$.transaction.type',
            '$.uuid', '$.eventType']) END AS ov,
        json_extract_string(n.raw, ['$.jobId', '$.provisioningAction']) AS az_key,
        -- The user agent parsed as Elastic's user_agent processor parses it (user_agents.py).
        CAST(u.parsed AS JSON) AS ua_parsed
    FROM net n
    LEFT JOIN _user_agents u ON n.is_okta AND u.original = n.cl[2]->>'$'
),
entra AS (
    SELECT
        v.* EXCLUDE (az_key),
        CASE WHEN v.az_key[1] IS NOT NULL AND v.az_key[2] IS NOT NULL
            THEN json_extract(v.raw, ['$.id', '$.activityDateTime', '$.tenantId', '$.jobId',
                '$.cycleId', '$.changeId', '$.action', '$.provisioningAction',
                '$.durationInMilliseconds', '$.initiatedBy.id', '$.initiatedBy.displayName',
                '$.initiatedBy.initiatorType', '$.servicePrincipal.id',
                '$.servicePrincipal.displayName', '$.sourceSystem.id',
                '$.sourceSystem.displayName', '$.targetSystem.id', '$.targetSystem.displayName',
                '$.sourceIdentity.id', '$.sourceIdentity.displayName',
                '$.sourceIdentity.identityType', '$.targetIdentity.id',
                '$.targetIdentity.displayName', '$.targetIdentity.identityType',
                '$.provisioningStatusInfo.status']) END AS az
    FROM vendor v
),
fields AS (
    SELECT
        o.seq, o.event_id, o.source, o.native_type, o.action, o.app, o.account_id,
        o.person_id, o.entitlement, o.inferred, o.event_hash, o.is_okta, o.is_finding,
        o.details, o.raw, o.fd, o.controls, o.cl, o.ov, o.az, o.ua_parsed,
        strftime(timezone('UTC', coalesce(o.occurred_at, o.ingested_at)),
            '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
        strftime(timezone('UTC', o.ingested_at), '%Y-%m-%dT%H:%M:%S.%gZ') AS ingested,
        CASE WHEN o.is_okta THEN o.native_id ELSE o.event_id END AS ev_id,
        CASE WHEN o.is_okta THEN o.ok.event_type ELSE o.action END AS ev_action,
        -- Elastic's rule for Okta (SUCCESS/ALLOW, FAILURE/DENY, else unknown); our canonical
        -- outcome otherwise, left out when the source reports none.
        CASE
            WHEN o.is_okta THEN CASE upper(o.ok.result)
                WHEN 'SUCCESS' THEN 'success' WHEN 'ALLOW' THEN 'success'
                WHEN 'FAILURE' THEN 'failure' WHEN 'DENY' THEN 'failure'
                ELSE 'unknown' END
            WHEN lower(o.outcome) IN ('success', 'failure', 'unknown') THEN lower(o.outcome)
            WHEN o.outcome IS NOT NULL THEN 'unknown'
        END AS ev_outcome,
        CASE
            WHEN o.is_okta THEN nullif(o.ok.message, '')
            WHEN o.is_finding THEN o.fd.explanation
        END AS message,
        CASE WHEN o.is_okta THEN nullif(o.ok.actor_id, '') END AS user_id,
        CASE WHEN o.is_okta THEN nullif(o.ok.actor_login, '') ELSE o.actor END
            AS user_name,
        CASE WHEN o.is_okta THEN nullif(o.ok.actor_name, '') END
            AS user_full_name,
        CASE WHEN o.is_okta THEN nullif(o.t_user->>'id', '')
            ELSE coalesce(o.account_id, o.person_id) END AS target_id,
        CASE WHEN o.is_finding THEN o.fd.account END AS target_name,
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
    FROM entra o
    LEFT JOIN okta_types ot ON o.is_okta AND ot.event_type = o.ok.event_type
    LEFT JOIN actions a ON a.action = o.action
    LEFT JOIN severities sv ON o.is_finding AND sv.severity = lower(o.fd.severity)
),
related AS (
    SELECT
        f.*,
        -- Okta: Elastic's order (actor display name, target display name, actor login), and
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
network AS (
    -- Okta's client, as Elastic's Okta pipeline maps it: the actor and the client address
    -- as both source.* and client.*, Okta's geography as client.geo.* (source.geo.* is the
    -- user's GeoIP pipeline's), the raw user agent; Okta's own fields under okta.*.
    SELECT
        o.*,
        CASE WHEN o.is_okta THEN scim_ip(o.cl[1]->>'$') END AS ip,
        CASE WHEN o.is_okta THEN scim_obj(json_object('id', o.user_id, 'name', o.user_name,
            'full_name', o.user_full_name)) END AS actor_user,
        CASE WHEN o.is_okta THEN scim_obj(json_object(
            'city_name', o.cl[3], 'region_name', o.cl[4], 'country_name', o.cl[5],
            -- A geo_point needs both coordinates as numbers.
            'location', CASE WHEN json_type(o.cl[7]) IN ('DOUBLE', 'BIGINT', 'UBIGINT')
                    AND json_type(o.cl[8]) IN ('DOUBLE', 'BIGINT', 'UBIGINT')
                THEN json_object('lat', o.cl[7], 'lon', o.cl[8]) END
        )) END AS client_geo,
        CASE WHEN o.is_okta THEN scim_obj(json_object(
            'uuid', o.ov[35], 'event_type', o.ov[36], 'display_message', o.ov[1],
            'transaction', scim_obj(json_object('id', o.ov[33], 'type', o.ov[34])),
            'outcome', scim_obj(json_object('reason', o.ov[2], 'result', o.ov[3])),
            'actor', scim_obj(json_object('id', o.ov[4], 'alternate_id', o.ov[5],
                'display_name', o.ov[6], 'type', o.ov[7])),
            'client', scim_obj(json_object('device', o.ov[8], 'id', o.ov[9],
                'zone', o.ov[10], 'ip', scim_ip(o.cl[1]->>'$'),
                'user_agent', scim_obj(json_object('browser', o.ov[11], 'os', o.ov[12],
                    'raw_user_agent', o.cl[2])))),
            'authentication_context', scim_obj(json_object(
                'authentication_provider', o.ov[13], 'authentication_step', o.ov[14],
                'credential_provider', o.ov[15], 'credential_type', o.ov[16],
                'external_session_id', o.ov[17], 'interface', o.ov[18],
                'root_session_id', o.ov[19])),
            'security_context', scim_obj(json_object(
                'as', scim_obj(json_object('number', o.ov[20],
                    'organization', scim_obj(json_object('name', o.ov[21])))),
                'domain', o.ov[22], 'is_proxy', o.ov[23], 'isp', o.ov[24])),
            'debug_context', scim_obj(json_object('debug_data', scim_obj(json_object(
                -- Every key, whatever its shape, as one field; the common ones by name.
                'flattened', CASE WHEN json_type(o.ov[25]) = 'OBJECT' THEN scim_obj(o.ov[25]) END,
                'request_id', o.ov[26], 'request_uri', o.ov[27], 'url', o.ov[28],
                'threat_suspected', o.ov[29], 'device_fingerprint', o.ov[30],
                'dt_hash', o.ov[31], 'factor', o.ov[32]))))
        )) END AS okta,
        -- Entra provisioning, named as Elastic's azure provisioning pipeline names the same
        -- Graph fields (displayName → name, initiatorType → type).
        CASE WHEN o.az IS NOT NULL THEN scim_obj(json_object('provisioning', json_object(
            'properties', json_object(
                'id', o.az[1], 'activity_datetime', o.az[2], 'tenant_id', o.az[3],
                'job_id', o.az[4], 'cycle_id', o.az[5], 'change_id', o.az[6],
                'action', o.az[7], 'provisioning_action', o.az[8], 'duration_ms', o.az[9],
                'initiated_by', scim_obj(json_object('id', o.az[10], 'name', o.az[11],
                    'type', o.az[12])),
                'service_principal', scim_obj(json_object('id', o.az[13], 'name', o.az[14])),
                'source_system', scim_obj(json_object('id', o.az[15], 'name', o.az[16])),
                'target_system', scim_obj(json_object('id', o.az[17], 'name', o.az[18])),
                'source_identity', scim_obj(json_object('id', o.az[19], 'name', o.az[20],
                    'identity_type', o.az[21])),
                'target_identity', scim_obj(json_object('id', o.az[22], 'name', o.az[23],
                    'identity_type', o.az[24])),
                'provisioning_status_info', scim_obj(json_object('status', o.az[25]))
            )))) END AS azure
    FROM objects o
),
core AS (
    SELECT
        seq, event_id, details, raw,
        -- merge-patching onto {} drops every null member, as Elastic's pipeline drops nulls
        -- (empty objects are avoided by building them only when they have content).
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
            'related', CASE WHEN related_user IS NOT NULL OR ip IS NOT NULL
                THEN json_object('ip', CASE WHEN ip IS NOT NULL THEN [ip] END,
                    'user', related_user) END,
            'source', scim_obj(json_object('ip', ip, 'domain', ov[22], 'user', actor_user)),
            'client', scim_obj(json_object('ip', ip, 'domain', ov[22],
                'as', scim_obj(json_object('organization', scim_obj(json_object('name', ov[21])))),
                'geo', client_geo, 'user', actor_user)),
            'user_agent', scim_obj(json_merge_patch(json_object('original', cl[2]),
                coalesce(ua_parsed, '{}'))),
            'rule', CASE WHEN is_finding THEN json_object(
                'id', concat_ws('.', fd.kind, fd.subkind),
                'name', coalesce(fd.rule, concat_ws('.', fd.kind, fd.subkind)),
                'category', fd.kind,
                'ruleset', 'scim-evidence'
            ) END,
            'okta', okta,
            'azure', azure,
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
                    'id', fd.id,
                    'kind', fd.kind,
                    'subkind', fd.subkind,
                    'severity', fd.severity,
                    'status', fd.status,
                    'rule', fd.rule,
                    'account', fd.account,
                    'controls', controls,
                    'first_seen_at', strftime(timezone('UTC', TRY_CAST(fd.first_seen_at AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'last_seen_at', strftime(timezone('UTC', TRY_CAST(fd.last_seen_at AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'resolved_at', strftime(timezone('UTC', TRY_CAST(fd.resolved_at AS TIMESTAMPTZ)),
                        '%Y-%m-%dT%H:%M:%S.%gZ')
                ) END
            )
        )) AS VARCHAR) AS body
    FROM network
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
    -- details and raw go in as stored, before the closing braces of scim_evidence and of
    -- the document (scim_member, batch.sql).
    left(body, length(body) - 2)
        || scim_member('details', details_text)
        || scim_member('raw', raw_text)
        || '}}' AS body
FROM verbatim
ORDER BY seq
