-- The matcher's scope for a full match: every account the store has held (matching.sql joins
-- _match_scope always; matching_dirty.sql builds the narrower one of an incremental match).
CREATE OR REPLACE TEMP TABLE _match_scope AS
SELECT DISTINCT app, account_id FROM accounts;
