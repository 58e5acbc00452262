-- Accounts with a new version whose keys did not change keep their owner; copy the facts of
-- their latest version (matching_dirty.sql's _acc_touched) into account_facts. The re-matched
-- ones (_match_scope) are rewritten whole by matching.sql and left out here.
UPDATE account_facts f SET
    active = t.active, is_current = t.is_current, source = t.source, email = t.email,
    last_login_at = t.last_login_at, created_at = t.created_at, valid_from = t.valid_from,
    attributes = t.attributes
FROM (SELECT * FROM _acc_touched ANTI JOIN _match_scope USING (app, account_id)) t
WHERE f.app = t.app AND f.account_id = t.account_id
