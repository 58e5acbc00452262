-- Findings as the public JSON contract lists them, filtered by the CLI's options.
SELECT finding_id, kind, subkind, severity, status, app, account, person_id, entitlement,
       rule, controls, first_seen_at, last_seen_at, resolved_at, explanation, evidence
FROM findings
WHERE ($kind IS NULL OR kind = $kind)
  AND ($app IS NULL OR lower(app) = lower($app))
  AND ($severity IS NULL OR severity = $severity)
  AND ($person IS NULL OR person_id = $person)
  AND (CASE WHEN $status IS NULL THEN status IN ('open', 'accepted')
            WHEN $status = 'all' THEN true
            ELSE status = $status END)
ORDER BY kind, subkind, app, account, entitlement, rule, finding_id
