-- The groups pages of a SCIM export (objects pages) as rows (pages.sql).
CREATE OR REPLACE TEMP TABLE groups AS
WITH pages AS (
-- include: pages.sql objects
),
-- include: pages.sql rows
-- include: pages.sql group_columns
FROM rows
