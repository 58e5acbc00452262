-- The groups pages of a SCIM export (arrays pages) as rows (pages.sql).
CREATE OR REPLACE TEMP TABLE groups AS
WITH pages AS (
-- include: pages.sql arrays
),
-- include: pages.sql rows
-- include: pages.sql group_columns
FROM rows
