-- The listed accounts when an id is listed twice: its last listing (file, then position).
CREATE OR REPLACE TEMP TABLE accts AS SELECT * FROM users WHERE present
QUALIFY row_number() OVER (PARTITION BY id ORDER BY file DESC, idx DESC) = 1
