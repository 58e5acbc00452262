-- The users pages of a SCIM export (arrays pages) as rows (pages.sql).
CREATE OR REPLACE TEMP TABLE users AS
WITH pages AS (
-- include: pages.sql arrays
),
-- include: pages.sql rows
-- include: pages.sql user_columns
FROM rows
