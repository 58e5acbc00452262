-- Give the run's events their ids, drop those the store already holds, number and hash the
-- rest and append them. event_id = sha256(kind|tenant|native id or identifying fields), so a
-- re-ingest is a no-op and renaming a source does not duplicate history.
-- event_hash = sha256 of the compact JSON object of the fields below, in this order.
INSERT INTO events (
    event_id, seq, run_id, source, native_id, native_type, occurred_at, ingested_at, action,
    outcome, actor, person_id, app, account_id, entitlement, details, inferred, raw, event_hash
)
WITH ids AS (
    SELECT *, sha256(concat_ws('|', $kind, $tenant, coalesce(native_id, identity))) AS event_id
    FROM _events_in
),
firsts AS (
    SELECT * FROM ids
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY inferred, occurred_at) = 1
),
-- The store's copies of these ids: the events table is probed with the (small) run as the
-- build side, rather than hashing every stored id for an anti-join.
known AS (
    SELECT e.event_id FROM events e WHERE e.event_id IN (SELECT event_id FROM firsts)
),
fresh AS (
    SELECT * FROM firsts f
    WHERE f.event_id NOT IN (SELECT event_id FROM known)
),
numbered AS (
    SELECT *,
        (SELECT coalesce(max(seq), 0) FROM events)
            + row_number() OVER (ORDER BY occurred_at, event_id) AS seq
    FROM fresh
)
SELECT
    event_id, seq, $run_id, $source, native_id, native_type, occurred_at, $ingested_at, action,
    outcome, actor, person_id, app, account_id, entitlement, details::JSON, inferred, raw::JSON,
    sha256(json_object(
        'event_id', event_id,
        'source', $source,
        'native_type', native_type,
        'occurred_at', strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ'),
        'action', action,
        'outcome', outcome,
        'actor', actor,
        'person_id', person_id,
        'app', app,
        'account_id', account_id,
        'entitlement', entitlement,
        'details', details::JSON,
        'raw', raw::JSON
    ))
FROM numbered
ORDER BY seq
