-- Write this run's findings: refresh the ones already known, add new ones, resolve the gone.
UPDATE findings f SET
    status = n.status, severity = n.severity, controls = n.controls, account = n.account,
    explanation = n.explanation, evidence = n.evidence, last_seen_at = $now,
    resolved_at = NULL, accepted_owner = n.accepted_owner, accepted_ticket = n.accepted_ticket,
    accepted_until = n.accepted_until
FROM _next n WHERE f.finding_id = n.finding_id;

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
