-- A what-if's findings (detect --as-of): this evaluation's _next, in the columns and order
-- `evidence findings` lists them, status being the one each would have at that instant.
SELECT finding_id, kind, subkind, severity, status, app, account, person_id, entitlement,
       rule, controls, explanation, evidence
FROM _next
ORDER BY kind, subkind, app, account, entitlement, rule, finding_id
