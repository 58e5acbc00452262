-- The users pages of a SCIM export (both pages: ListResponses and bare arrays) as rows (pages.sql).
CREATE OR REPLACE TEMP TABLE users AS
WITH pages AS (
-- include: pages.sql objects
UNION ALL BY NAME
-- include: pages.sql arrays
),
-- include: pages.sql rows
-- include: pages.sql user_columns
FROM rows
