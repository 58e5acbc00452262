-- The matcher's scope for a full match: every account version the store holds, by rowid
-- (matching.sql joins _match_rows always; matching_dirty.sql builds the narrower one of an
-- incremental match). Rowids are stable here: detect writes no account row in its transaction.
CREATE OR REPLACE TEMP TABLE _match_rows AS
SELECT rowid AS rid FROM accounts;
