-- One event per finding status change, carrying the finding row as it now stands.
SELECT
    NULL AS native_id,
    concat_ws('|', 'finding', f.finding_id, t.action, $as_of_text) AS identity,
    f.kind || '/' || f.subkind AS native_type,
    $now AS occurred_at,
    t.action,
    'success' AS outcome,
    'scim-evidence' AS actor,
    f.person_id, f.app, f.account_id, f.entitlement,
    json_object(
        'finding_id', f.finding_id, 'kind', f.kind, 'subkind', f.subkind,
        'severity', f.severity, 'status', f.status, 'app', f.app, 'account', f.account,
        'person_id', f.person_id, 'entitlement', f.entitlement, 'rule', f.rule,
        'controls', f.controls, 'explanation', f.explanation,
        'first_seen_at', f.first_seen_at, 'last_seen_at', f.last_seen_at,
        'resolved_at', f.resolved_at, 'detect_run', $run_id
    )::VARCHAR AS details,
    f.evidence::VARCHAR AS raw,
    false AS inferred
FROM _transitions t JOIN findings f USING (finding_id)
WHERE t.action IS NOT NULL
