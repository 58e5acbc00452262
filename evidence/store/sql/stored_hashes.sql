-- Every event of runs $lo..$hi with its hash as stored, in storage order (see
-- rehash_events.sql): the input of a run digest over the stored hashes.
SELECT e.run_id, e.seq, e.event_hash AS hash, CAST(NULL AS VARCHAR) AS altered_id
FROM events e
WHERE e.run_id BETWEEN $lo AND $hi
