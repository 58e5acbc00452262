-- v_joiners_movers_leavers: one row per HR change of a person: a hire (joiner), a change of
-- department or title (mover) and a termination (leaver). Hires and terminations are the HR
-- records' own events, dated as HR dates them; moves are the differences between two
-- versions of a person's record (inferred hr.move events, whose details say from and to).
-- department and title are the person's after the change (for a leaver: when they left).
CREATE OR REPLACE VIEW v_joiners_movers_leavers AS
SELECT person_id,
       CASE action WHEN 'hr.hire' THEN 'joiner' WHEN 'hr.move' THEN 'mover'
                   ELSE 'leaver' END AS change,
       occurred_at,
       CASE WHEN action = 'hr.move' THEN details -> 'department' ->> 'to'
            ELSE details ->> 'department' END AS department,
       CASE WHEN action = 'hr.move' THEN details -> 'title' ->> 'to'
            ELSE details ->> 'title' END AS title,
       CASE WHEN action = 'hr.move' THEN details -> 'department' ->> 'from' END
           AS previous_department,
       CASE WHEN action = 'hr.move' THEN details -> 'title' ->> 'from' END AS previous_title,
       source, inferred, event_id
FROM events
WHERE action IN ('hr.hire', 'hr.move', 'hr.terminate')
