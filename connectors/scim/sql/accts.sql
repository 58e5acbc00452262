-- The listed accounts, each id once.
CREATE OR REPLACE TEMP VIEW accts AS SELECT * FROM users WHERE present
