-- The users pages of a SCIM export (objects pages) as rows (pages.sql).
CREATE OR REPLACE TEMP TABLE users AS
WITH pages AS (
-- include: pages.sql objects
),
-- include: pages.sql rows
-- include: pages.sql user_columns
FROM rows
