-- v_people_current: one row per person as the store knows them now. From HR: the person's
-- best current record (an active employment over a leave over a terminated one, latest hire
-- first, as the matcher ranks a rehire's records). An IdP user with no HR record is a person
-- too (employment_type 'idp_only', person_id its user id), its status from the IdP's
-- canonical lifecycle (deprovisioned or deleted: terminated; suspended: leave), hire_date its
-- creation and termination_date its status change when it ended.
CREATE OR REPLACE VIEW v_people_current AS
WITH hr AS (
    SELECT person_id, email, aliases, display_name, department, title, manager_id,
           employment_type, status, hire_date, termination_date, source, valid_from
    FROM people
    WHERE valid_to IS NULL
    QUALIFY row_number() OVER (
        PARTITION BY person_id
        ORDER BY CASE status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END,
                 hire_date DESC NULLS LAST, termination_date DESC NULLS LAST, source) = 1
),
idp_only AS (
    SELECT i.user_id AS person_id, i.email, NULL AS aliases,
           coalesce(i.display_name, i.login) AS display_name, i.department, i.title,
           NULL AS manager_id, 'idp_only' AS employment_type,
           CASE WHEN i.lifecycle IN ('deprovisioned', 'deleted') THEN 'terminated'
                WHEN i.lifecycle = 'suspended' THEN 'leave' ELSE 'active' END AS status,
           i.created_at AS hire_date,
           CASE WHEN i.lifecycle IN ('deprovisioned', 'deleted') THEN i.status_changed_at END
               AS termination_date,
           i.source, i.valid_from
    FROM idp_users i
    JOIN idp_user_owners o ON o.user_id = i.user_id AND o.person_id IS NULL
    WHERE i.valid_to IS NULL
      AND i.user_id NOT IN (SELECT person_id FROM hr)
    QUALIFY row_number() OVER (PARTITION BY i.user_id ORDER BY i.source) = 1
)
SELECT * FROM hr
UNION ALL
SELECT * FROM idp_only
