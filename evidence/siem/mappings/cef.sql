-- CEF lines for the events after a sink's cursor, one per event, in seq order. Names,
-- severities and the custom-slot keys and labels come in as parameters ($names, $severities,
-- $keys, $labels) so that the data lives in cef.py and no value is ever spliced into this
-- text. `custom` lists its values in the order of cef.CUSTOM. The batch comes from batch.sql.
WITH names AS (
    SELECT unnest($names, recursive := true)
),
severities AS (
    SELECT unnest($severities, recursive := true)
),
-- include: batch.sql batch
fields AS (
    SELECT
        o.seq, o.event_id,
        CASE WHEN o.is_okta THEN o.ok.event_type ELSE o.action END AS class_id,
        CASE
            WHEN o.is_finding THEN concat_ws(': ', coalesce(n.name, o.action),
                nullif(concat_ws('/', o.fd.kind, o.fd.subkind), ''))
            ELSE coalesce(n.name, CASE WHEN o.is_okta THEN nullif(o.ok.message, '') END, o.action)
        END AS name,
        CASE WHEN o.is_finding THEN coalesce(sv.score, $event_severity)
            ELSE $event_severity END AS severity,
        [
            -- Epoch ms truncated, not rounded, so they agree with ECS's @timestamp.
            {'k': 'rt',
                'v': CAST(epoch_us(coalesce(o.occurred_at, o.ingested_at)) // 1000 AS VARCHAR)},
            {'k': 'act', 'v': o.action},
            {'k': 'outcome', 'v': o.outcome},
            {'k': 'suser', 'v': o.actor},
            {'k': 'duser', 'v': coalesce(
                CASE WHEN o.is_okta THEN nullif(o.t_user->>'alternateId', '') END,
                o.fd.account, o.account_id, o.person_id)},
            {'k': 'msg', 'v': CASE WHEN o.is_okta THEN nullif(o.ok.message, '')
                WHEN o.is_finding THEN o.fd.explanation END},
            {'k': 'externalId', 'v': CASE WHEN o.is_okta THEN o.native_id ELSE o.event_id END}
        ] AS standard,
        [
            o.app, o.person_id, o.account_id, o.entitlement, o.event_hash,
            nullif(concat_ws('/', o.fd.kind, o.fd.subkind), ''), o.fd.id, o.source
        ] AS custom
    FROM picked o
    LEFT JOIN names n ON n.action = o.action
    LEFT JOIN severities sv ON o.is_finding AND sv.severity = lower(o.fd.severity)
),
pairs AS (
    SELECT
        seq, event_id, class_id, name, severity,
        list_filter(list_concat(standard, flatten(list_transform(range(1, len($keys) + 1),
            -- A slot's label travels only with its value.
            lambda i: CASE WHEN custom[i] IS NOT NULL THEN [
                {'k': $keys[i] || 'Label', 'v': $labels[i]}, {'k': $keys[i], 'v': custom[i]}
            ] END))), lambda e: e.v IS NOT NULL) AS ext
    FROM fields
)
SELECT
    event_id,
    seq,
    'CEF:0|'
        || array_to_string(list_transform(
            [$header[1], $header[2], $header[3], class_id, name, CAST(severity AS VARCHAR)],
            -- Header: `\` then `|` escaped; the header cannot carry a line break.
            lambda h: replace(replace(regexp_replace(coalesce(h, ''), '\r\n|[\r\n]', ' ', 'g'),
                '\', '\\'), '|', '\|')), '|')
        || '|'
        || array_to_string(list_transform(ext,
            -- Extension: `\` first, then `=`, CR and LF.
            lambda e: e.k || '=' || replace(replace(replace(replace(e.v,
                '\', '\\'), '=', '\='), chr(13), '\r'), chr(10), '\n')), ' ') AS body
FROM pairs
ORDER BY seq
