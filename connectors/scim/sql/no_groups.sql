-- An empty groups table for an export without Groups pages.
CREATE OR REPLACE TEMP TABLE groups AS
SELECT NULL::VARCHAR AS file, NULL::BIGINT AS idx, false AS present, NULL::VARCHAR AS id,
       NULL::VARCHAR AS name, NULL::STRUCT(value VARCHAR, "type" VARCHAR)[] AS members
WHERE false
