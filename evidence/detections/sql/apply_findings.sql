-- Write this run's findings: refresh the ones already known, add new ones, resolve the gone.
UPDATE findings f SET last_seen_at = $now, resolved_at = NULL
FROM _next n WHERE f.finding_id = n.finding_id;
-- The other columns only where they changed: rewriting every finding's text each run (in the
-- join's order, not the table's) made this step take minutes at enterprise scale.
UPDATE findings f SET
    status = n.status, severity = n.severity, controls = n.controls, account = n.account,
    explanation = n.explanation, evidence = n.evidence, accepted_owner = n.accepted_owner,
    accepted_ticket = n.accepted_ticket, accepted_until = n.accepted_until
FROM _next n
WHERE f.finding_id = n.finding_id
  AND (f.status IS DISTINCT FROM n.status OR f.severity IS DISTINCT FROM n.severity
       OR f.controls IS DISTINCT FROM n.controls OR f.account IS DISTINCT FROM n.account
       OR f.explanation IS DISTINCT FROM n.explanation OR f.evidence IS DISTINCT FROM n.evidence
       OR f.accepted_owner IS DISTINCT FROM n.accepted_owner
       OR f.accepted_ticket IS DISTINCT FROM n.accepted_ticket
       OR f.accepted_until IS DISTINCT FROM n.accepted_until);

INSERT INTO findings (
    finding_id, kind, subkind, severity, status, app, account_id, account, person_id,
    entitlement, rule, controls, first_seen_at, last_seen_at, resolved_at, explanation,
    evidence, accepted_ticket, accepted_owner, accepted_until
)
SELECT finding_id, kind, subkind, severity, status, app, account_id, account, person_id,
       entitlement, rule, controls, $now, $now, NULL, explanation, evidence, accepted_ticket,
       accepted_owner, accepted_until
FROM _next WHERE finding_id NOT IN (SELECT finding_id FROM findings);

UPDATE findings SET status = 'resolved', resolved_at = $now
WHERE status IN ('open', 'accepted') AND finding_id NOT IN (SELECT finding_id FROM _next);
