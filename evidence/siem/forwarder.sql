-- Statements of the forwarder, one per `-- name:` block.

-- name: cursor
SELECT last_seq FROM sink_cursors WHERE sink = $sink;

-- name: seq_of
-- Documents name their event by event_id; a CEF line names an Okta event by its uuid (the
-- native id), which counts only where it is unambiguous. Only events past the cursor matter.
SELECT coalesce(
    (SELECT seq FROM events WHERE event_id = $event_id AND seq > $after),
    (SELECT max(seq) FROM events
     WHERE seq > $after AND native_id = $event_id HAVING count(*) = 1)
);

-- name: count_between
SELECT count(*) FROM events WHERE seq > $after AND seq <= $upto;

-- name: asset_count_between
-- An account version's seq is its rowid + 1.
SELECT count(*) FROM accounts WHERE rowid >= $after AND rowid < $upto;

-- name: dead_letters
-- A CEF or syslog document is a line, not JSON: keep it as a JSON string then.
INSERT OR REPLACE INTO dead_letters (sink, event_id, seq, reason, document, refused_at)
SELECT
    $sink,
    d.event_id,
    d.seq,
    d.reason,
    CASE WHEN json_valid(d.document) THEN d.document::JSON ELSE to_json(d.document) END,
    now()
FROM (SELECT unnest($rows, recursive := true)) d;

-- name: set_cursor
INSERT INTO sink_cursors (sink, last_seq, updated_at) VALUES ($sink, $last_seq, now())
ON CONFLICT (sink) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at;
