-- id: drift_attribute_mismatch
-- kind: drift
-- subkind: attribute_mismatch
-- severity: low
-- controls: CC6.2, A.5.16
-- parameters: grace_hours, service_accounts
-- description: An assigned account in an IdP-managed app reports an email, display name or department that differs from the person's record.
-- Compared only where the app reports the attribute. The reference is the owner's current HR
-- record, or the IdP profile for a person the IdP knows without HR (idp_only). Emails compare
-- lower-cased and trimmed; names and departments trimmed, whitespace runs collapsed and
-- case-blind, so formatting alone is no drift. Only accounts that stand for a current IdP
-- assignment (an unassigned one is reported as unassigned_account); owned service accounts and
-- orphans are not reported.
WITH assigned AS (SELECT * FROM _assigned_accounts),
hr AS (
    SELECT person_id, email, display_name, department, valid_from, source
    FROM people WHERE valid_to IS NULL
    QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY hire_date DESC NULLS LAST) = 1
),
idp AS (
    SELECT user_id AS person_id, email, display_name, department, valid_from, source
    FROM idp_users WHERE valid_to IS NULL
),
cur AS (
    SELECT o.app, o.account_id, o.user_name, o.person_id, o.person_kind, o.matched_by,
           o.email AS app_email,
           json_extract_string(o.attributes, '$.display_name') AS app_display_name,
           json_extract_string(o.attributes, '$.department') AS app_department,
           o.valid_from AS account_valid_from, o.source AS account_source,
           coalesce(h.email, i.email) AS ref_email,
           coalesce(h.display_name, i.display_name) AS ref_display_name,
           coalesce(h.department, i.department) AS ref_department,
           CASE WHEN h.person_id IS NOT NULL THEN 'hr' ELSE 'idp' END AS ref_kind,
           coalesce(h.source, i.source) AS ref_source,
           coalesce(h.valid_from, i.valid_from) AS ref_valid_from
    FROM account_facts o
    JOIN assigned s ON s.app = o.app AND s.account_id = o.account_id
    LEFT JOIN hr h ON h.person_id = o.person_id AND o.person_kind = 'hr'
    LEFT JOIN idp i ON i.person_id = o.person_id AND o.person_kind = 'idp_only'
    WHERE o.active
      AND NOT o.service_account
      AND o.matched_by <> 'none'
      AND NOT coalesce(
          o.person_status = 'terminated'
          AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now,
          false)
),
cmp AS (
    SELECT c.*,
           c.app_email IS NOT NULL AND c.ref_email IS NOT NULL
               AND lower(trim(c.app_email)) <> lower(trim(c.ref_email)) AS email_differs,
           c.app_display_name IS NOT NULL AND c.ref_display_name IS NOT NULL
               -- the cheap test first: only values that differ get the regexp
               AND lower(trim(c.app_display_name)) <> lower(trim(c.ref_display_name))
               AND lower(regexp_replace(trim(c.app_display_name), '\s+', ' ', 'g'))
                   <> lower(regexp_replace(trim(c.ref_display_name), '\s+', ' ', 'g'))
               AS name_differs,
           c.app_department IS NOT NULL AND c.ref_department IS NOT NULL
               -- the cheap test first: only values that differ get the regexp
               AND lower(trim(c.app_department)) <> lower(trim(c.ref_department))
               AND lower(regexp_replace(trim(c.app_department), '\s+', ' ', 'g'))
                   <> lower(regexp_replace(trim(c.ref_department), '\s+', ' ', 'g'))
               AS dept_differs
    FROM cur c
),
worded AS (
    SELECT c.*,
           list_filter([
               CASE WHEN email_differs THEN format('email {} (record: {})', app_email, ref_email) END,
               CASE WHEN name_differs THEN format('display name {} (record: {})',
                                                  app_display_name, ref_display_name) END,
               CASE WHEN dept_differs THEN format('department {} (record: {})',
                                                  app_department, ref_department) END
           ], lambda x: x IS NOT NULL) AS diffs
    FROM cmp c
    WHERE email_differs OR name_differs OR dept_differs
)
SELECT
    w.app,
    w.account_id,
    w.user_name AS account,
    w.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} reports {}, which differs from {} for person {}.',
           w.user_name, w.app, array_to_string(w.diffs, '; '),
           CASE w.ref_kind WHEN 'hr' THEN 'the HR record' ELSE 'the IdP profile' END,
           w.person_id) AS explanation,
    json_object(
        'account', json_object('app', w.app, 'account_id', w.account_id,
                               'user_name', w.user_name, 'source', w.account_source,
                               'valid_from', w.account_valid_from, 'email', w.app_email,
                               'display_name', w.app_display_name,
                               'department', w.app_department),
        'person', json_object('person_id', w.person_id, 'kind', w.person_kind,
                              'record', w.ref_kind, 'source', w.ref_source,
                              'valid_from', w.ref_valid_from, 'email', w.ref_email,
                              'display_name', w.ref_display_name,
                              'department', w.ref_department),
        'matched_by', w.matched_by,
        'differs', json_object('email', w.email_differs, 'display_name', w.name_differs,
                               'department', w.dept_differs)
    ) AS evidence
FROM worded w
