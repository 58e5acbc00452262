-- Every event of runs $lo..$hi with its hash recomputed from its content, for
-- evidence/store/digests.py to fold into run digests in bounded memory. The recomputation is
-- append_events.sql's: sha256 of the compact JSON of these fields. No ORDER BY: events are
-- stored in chain order (run, then seq; append_events.sql inserts in seq order) and a scan
-- keeps insertion order, which digests.py checks row by row before it trusts it, reading a
-- store whose rows are out of order again, sorted.
WITH rehash AS (
    SELECT e.run_id, e.seq, e.event_id, e.event_hash,
        sha256(json_object(
            'event_id', e.event_id, 'source', e.source, 'native_type', e.native_type,
            'occurred_at', strftime(timezone('UTC', e.occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ'),
            'action', e.action, 'outcome', e.outcome, 'actor', e.actor,
            'person_id', e.person_id, 'app', e.app, 'account_id', e.account_id,
            'entitlement', e.entitlement, 'details', e.details, 'raw', e.raw
        )) AS hash
    FROM events e
    WHERE e.run_id BETWEEN $lo AND $hi
)
-- Only an altered event's id leaves DuckDB: the usual answer is none.
SELECT run_id, seq, hash,
       CASE WHEN event_hash IS DISTINCT FROM hash THEN event_id END AS altered_id
FROM rehash
