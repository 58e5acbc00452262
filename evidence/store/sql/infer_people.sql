-- HR changes between two snapshots of the same person record: moves and leave (inferred).
-- Hires and terminations are reported by the records themselves, with their own dates.
SELECT
    NULL, concat_ws('|', 'inferred', 'people', n.person_id, x.action, $as_of_text),
    'snapshot:people', coalesce(n.effective_at, $as_of), x.action, 'success', NULL, n.person_id,
    NULL, NULL, NULL,
    json_object('inferred_from', 'snapshot difference', 'observed_at', $as_of_text,
                'department', json_object('from', c.department, 'to', n.department),
                'title', json_object('from', c.title, 'to', n.title),
                'status', json_object('from', c.status, 'to', n.status))::VARCHAR,
    NULL, true
FROM _opened n
JOIN _closed c ON n.person_id = c.person_id AND n.hire_date IS NOT DISTINCT FROM c.hire_date
CROSS JOIN LATERAL (
    SELECT unnest(list_filter([
        CASE WHEN n.department IS DISTINCT FROM c.department
                  OR n.title IS DISTINCT FROM c.title THEN 'hr.move' END,
        CASE WHEN n.status = 'leave' AND c.status IS DISTINCT FROM 'leave' THEN 'hr.leave' END,
        CASE WHEN c.status = 'leave' AND n.status = 'active' THEN 'hr.return' END
    ], lambda a: a IS NOT NULL)) AS action
) x
