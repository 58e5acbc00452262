-- The first group resource a snapshot cannot take, with the field at fault.
SELECT file, listed, idx, field, NULL
FROM (SELECT *, CASE
        WHEN suspect THEN 'suspect'
        WHEN id IS NULL OR id = '' THEN 'id'
        WHEN name IS NULL OR name = '' THEN 'displayName'
      END AS field FROM groups WHERE present)
WHERE field IS NOT NULL ORDER BY file, idx LIMIT 1
