-- ECS 8.11 asset documents: one per account version an app listed (accounts rows, in rowid
-- order, seq = rowid + 1: versions are only ever appended, so rowid is the order they were stored in), after
-- a sink's asset cursor. Like Elastic's entity-analytics user documents: event.kind asset,
-- category iam, type [user, info]; the account as user.*, its facts under
-- scim_evidence.account.*. The id is a digest of (source, app, account id, valid_from), the version's key, the same in
-- every store that holds that version, so Elasticsearch de-duplicates a re-send.
WITH batch AS (
    -- seq = rowid + 1: rowids start at 0, cursors at "nothing sent yet" = 0.
    SELECT a.rowid + 1 AS seq, a.*
    FROM accounts a WHERE a.rowid >= $after ORDER BY a.rowid LIMIT $limit
),
fields AS (
    SELECT
        b.*,
        scim_asset_id(b.source, b.app, b.account_id, b.valid_from) AS asset_id,
        strftime(timezone('UTC', b.valid_from), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
        nullif(CAST(b.attributes AS VARCHAR), 'null') AS attributes_text
    FROM batch b
),
core AS (
    SELECT
        seq, asset_id, attributes_text,
        -- merge-patching onto {} drops every null member, as ecs.sql does.
        CAST(json_merge_patch('{}', json_object(
            '@timestamp', ts,
            'ecs', json_object('version', $ecs_version),
            'event', json_object(
                'kind', 'asset',
                'category', ['iam'],
                'type', ['user', 'info'],
                'action', 'account-listed',
                'id', asset_id,
                'created', ts,
                'provider', source
            ),
            'user', json_object(
                'id', account_id,
                'name', user_name,
                'email', email
            ),
            -- Order-preserving distinct, as ecs.sql's related.user.
            'related', json_object('user', list_filter([user_name, account_id, email],
                lambda u, i: u IS NOT NULL
                    AND NOT list_contains([user_name, account_id, email][1:i - 1], u))),
            'scim_evidence', json_object(
                'event_id', asset_id,
                'source', source,
                'app', app,
                'account_id', account_id,
                'account', json_object(
                    'active', active,
                    'external_id', external_id,
                    'last_login_at',
                        strftime(timezone('UTC', last_login_at), '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'created_at',
                        strftime(timezone('UTC', created_at), '%Y-%m-%dT%H:%M:%S.%gZ'),
                    'valid_from', ts,
                    'run_id', run_id
                )
            )
        )) AS VARCHAR) AS body
    FROM fields
)
SELECT
    asset_id AS event_id,
    seq,
    -- The app's own attributes go in as stored, spliced before the closing braces of
    -- scim_evidence.account, scim_evidence and the document (re-serialized only when stored
    -- with line breaks, which would split an NDJSON line).
    CASE WHEN attributes_text IS NULL THEN body
        ELSE left(body, length(body) - 3) || ',"attributes":'
            || CASE WHEN contains(attributes_text, chr(10)) OR contains(attributes_text, chr(13))
                THEN CAST(json(attributes_text) AS VARCHAR) ELSE attributes_text END
            || '}}}' END AS body
FROM core
ORDER BY seq
