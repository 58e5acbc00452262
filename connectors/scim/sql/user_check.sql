-- The first user resource a snapshot cannot take, with the field at fault.
SELECT file, listed, idx, field,
       CASE field WHEN 'active' THEN active_text WHEN 'meta.created' THEN created_text END
FROM (SELECT *, CASE
        WHEN suspect THEN 'suspect'
        WHEN id IS NULL OR id = '' THEN 'id'
        WHEN user_name IS NULL OR user_name = '' THEN 'userName'
        WHEN active_text IS NOT NULL AND lower(active_text) NOT IN ('true', 'false')
          THEN 'active'
        WHEN created_text IS NOT NULL AND created_at IS NULL THEN 'meta.created'
      END AS field FROM users WHERE present)
WHERE field IS NOT NULL ORDER BY file, idx LIMIT 1
