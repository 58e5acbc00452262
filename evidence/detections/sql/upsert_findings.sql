-- Which findings change status at this run, and how (the finding.* events to write).
-- _next holds this run's findings with their intended status (open | accepted).
CREATE OR REPLACE TEMP TABLE _transitions AS
SELECT n.finding_id,
       CASE WHEN f.finding_id IS NULL AND n.status = 'accepted' THEN 'finding.accept'
            WHEN f.finding_id IS NULL THEN 'finding.open'
            WHEN f.status = 'resolved' THEN 'finding.reopen'
            WHEN f.status <> n.status AND n.status = 'accepted' THEN 'finding.accept'
            WHEN f.status <> n.status THEN 'finding.open'
       END AS action
FROM _next n LEFT JOIN findings f USING (finding_id)
UNION ALL
SELECT f.finding_id, 'finding.resolve'
FROM findings f
WHERE f.status IN ('open', 'accepted')
  AND f.finding_id NOT IN (SELECT finding_id FROM _next);
