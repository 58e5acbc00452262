-- v_findings: every finding (the columns of `findings`), with its person's current name and
-- department from v_people_current (NULL when the finding has no person or the store no
-- longer knows them).
CREATE OR REPLACE VIEW v_findings AS
SELECT f.*, p.display_name AS person_name, p.department AS person_department
FROM findings f
LEFT JOIN v_people_current p ON p.person_id = f.person_id
