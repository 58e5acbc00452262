-- The blocks every SCIM page load shares (users_*.sql, groups_*.sql include them).
-- A load reads every page, unnests its resources and keeps the columns the snapshot needs, in
-- one pass. Page facts (file, ListResponse or bare array, totalResults, resource count,
-- whether an object page is a ListResponse at all) ride along on each row; a page without
-- resources still yields one row (`present` false), so every page is accounted for.
-- read_json refuses an empty file list, so each page shape has its own block, and a load
-- names only the shapes it has files of. The resource types come as $objects_columns /
-- $arrays_columns (every scalar JSON, read as text with ->>: see export.py).

-- shared: objects
SELECT filename AS file, true AS listed, totalResults AS total, schemas, Resources AS res
FROM read_json($objects, format = 'unstructured', filename = true, columns = $objects_columns)
-- end shared: objects

-- shared: arrays
SELECT filename AS file, false AS listed, NULL::BIGINT AS total,
       NULL::VARCHAR[] AS schemas, json AS res
FROM read_json($arrays, format = 'unstructured', records = false, filename = true,
               columns = $arrays_columns)
-- end shared: arrays

-- shared: rows
rows AS (
    SELECT file, listed, total, n, ok, generate_subscripts(rs, 1) - 1 AS idx, unnest(rs) AS r
    FROM (SELECT file, listed, total, coalesce(len(res), 0) AS n,
                 NOT listed OR res IS NOT NULL OR total IS NOT NULL
                   OR coalesce(list_contains(schemas, $list_response), false) AS ok,
                 CASE WHEN len(res) > 0 THEN res ELSE [NULL] END AS rs
          FROM pages)
)
SELECT file, listed, total, n, ok, idx, r IS NOT NULL AS present,
-- end shared: rows

-- shared: user_columns
    r.id->>'$' AS id, r.userName->>'$' AS user_name, r.externalId->>'$' AS external_id,
    r.active->>'$' AS active_text, r.meta.created->>'$' AS created_text,
    try_cast(r.meta.created->>'$' AS TIMESTAMPTZ) AS created_at,
    coalesce(list_filter(r.emails, lambda e: lower(e."primary"->>'$') = 'true')[1].value->>'$',
             r.emails[1].value->>'$') AS email,
    json_merge_patch('{}', to_json(struct_pack(
        display_name := r.displayName->>'$', given_name := r.name.givenName->>'$',
        family_name := r.name.familyName->>'$', formatted_name := r.name.formatted->>'$',
        title := r.title->>'$', user_type := r.userType->>'$',
        department := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department->>'$',
        employee_number := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".employeeNumber->>'$',
        cost_center := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".costCenter->>'$',
        organization := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".organization->>'$',
        division := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".division->>'$',
        manager_id := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager.value->>'$',
        manager_name := r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager.displayName->>'$'
    )))::VARCHAR AS attributes,
    list_transform(r.groups, lambda m: struct_pack(value := m.value->>'$',
        display := m.display->>'$', "type" := m."type"->>'$')) AS groups,
    list_transform(r.roles, lambda m: struct_pack(value := m.value->>'$',
        display := m.display->>'$', "type" := m."type"->>'$')) AS roles,
    list_transform(r.entitlements, lambda m: struct_pack(value := m.value->>'$',
        display := m.display->>'$', "type" := m."type"->>'$')) AS entitlements,
    -- A resource with a value no snapshot may take (export.py's `_suspect`): Python names it.
    coalesce(list_bool_or(list_transform(
        [r.id, r.userName, r.externalId, r.active, r.meta.created, r.displayName,
         r.name.givenName, r.name.familyName, r.name.formatted, r.title, r.userType,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".employeeNumber,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".costCenter,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".organization,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".division,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager.value,
         r."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager.displayName]
        || flatten(list_transform(
            coalesce(r.emails, []) || coalesce(r.groups, []) || coalesce(r.roles, [])
              || coalesce(r.entitlements, []),
            lambda m: [m.value, m.display, m."type", m."primary"])),
        lambda x: json_type(x) IN ('OBJECT', 'ARRAY') OR contains(x->>'$', chr(0))
                  OR length(x->>'$') > $max_text
                  OR (json_type(x) = 'DOUBLE'
                      AND NOT isfinite(coalesce(TRY_CAST(x->>'$' AS DOUBLE), 0))))), false)
      AS suspect
-- end shared: user_columns

-- shared: group_columns
    r.id->>'$' AS id, r.displayName->>'$' AS name,
    list_transform(r.members, lambda m: struct_pack(value := m.value->>'$',
        display := m.display->>'$', "type" := m."type"->>'$')) AS members,
    coalesce(list_bool_or(list_transform(
        [r.id, r.displayName] || flatten(list_transform(coalesce(r.members, []),
            lambda m: [m.value, m.display, m."type"])),
        lambda x: json_type(x) IN ('OBJECT', 'ARRAY') OR contains(x->>'$', chr(0))
                  OR length(x->>'$') > $max_text
                  OR (json_type(x) = 'DOUBLE'
                      AND NOT isfinite(coalesce(TRY_CAST(x->>'$' AS DOUBLE), 0))))), false)
      AS suspect
-- end shared: group_columns
