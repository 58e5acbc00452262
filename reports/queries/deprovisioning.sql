-- Deprovisioning of terminated users: the population of SOC 2 CC6.2, "credentials are removed
-- when user access is no longer authorized".
--
-- One row per (termination in the period, app account that belonged to the person), plus one
-- row per terminated person with no app account. Terminations are HR's, and the IdP's
-- deprovisioning of people it knows without an HR record (idp_only). status is ok | exception; reason is a sentence.
--
-- Parameters (the text below reads $evidence_until; deprovisioning_verdicts.sql all of them)
--   period_start, period_end    half-open UTC period that the termination dates fall in
--   as_of                       data cut-off: HR records as the store knew them at this instant
--   evidence_until              removal evidence (listings, events, findings) is read up to here
--   grace_hours                 an account still active this long after termination: exception
--   deprovision_sla_hours       an account removed later than this after termination: exception
--
-- The removal instant follows ARCHITECTURE.md (sla/deprovision_late): the earliest removal the
-- source reported (account.deactivate, account.delete, app.unassign); without one, it lies
-- between the last full listing that showed the account active and the first listing that showed
-- it inactive or absent, and it is late only when even that earlier bound is past the SLA.
-- Inferred (snapshot-difference) events only bound it from above.
--
-- The judgement per account is the sla_deprovision_late detection's own:
-- deprovisioning_verdicts.sql, run first into _deprovisioning_verdicts, includes that
-- detection's block verbatim.
-- prepare: deprovisioning_verdicts.sql
WITH
-- Monitoring's own verdict: an orphan or late-deprovisioning finding raised for the account
-- after this termination (and before any rehire), whatever its status now.
finding AS (
    SELECT s.person_id, s.termination_date, s.app, s.account_id,
           arg_min(f.kind || '/' || f.subkind || ' ' || f.finding_id || ' on '
                   || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status '
                   || f.status
                   || CASE WHEN f.status = 'accepted' THEN
                          ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                          || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                          || coalesce(' until '
                             || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
                      ELSE '' END || ')',
                   f.first_seen_at) AS finding
    FROM _deprovisioning_verdicts s
    JOIN findings f ON f.app = s.app AND f.account_id = s.account_id
    WHERE ((f.kind = 'orphan' AND f.subkind = 'terminated_active')
           OR (f.kind = 'sla' AND f.subkind = 'deprovision_late'))
      AND f.first_seen_at >= s.termination_date AND f.first_seen_at <= $evidence_until
      AND (s.rehired_at IS NULL OR f.first_seen_at < s.rehired_at)
    GROUP BY ALL
)
SELECT
    w.person_id,
    w.display_name,
    w.termination_date,
    w.app,
    w.account,
    w.deactivated_at,
    w.latency_hours,
    CASE WHEN w.late OR f.finding IS NOT NULL THEN 'exception' ELSE 'ok' END AS status,
    CASE w.outcome
        WHEN 'never_active' THEN 'Never observed active in a listing or a reported event; '
            || 'there was no access to remove.'
        WHEN 'before' THEN 'Access had already ended before the termination, at '
            || strftime(timezone('UTC', w.deactivated_at), '%Y-%m-%d %H:%M') || ' UTC.'
        WHEN 'reported' THEN 'Removed ' || w.removed_when || ' the termination ('
            || w.reported_by || '), '
            || CASE WHEN w.late THEN 'later than' ELSE 'within' END
            || ' the ' || w.sla_text || ' SLA.'
        WHEN 'listing' THEN 'No removal event was reported; last listed active '
            || w.lower_when || ' the termination and first listed inactive or absent '
            || w.removed_when || ' it, so '
            || CASE WHEN w.late THEN 'even the earliest possible removal is later than'
                    ELSE 'the earliest possible removal is within' END
            || ' the ' || w.sla_text || ' SLA.'
        WHEN 'after_rehire' THEN 'First observed active on '
            || strftime(timezone('UTC', w.spell_from), '%Y-%m-%d')
            || ', after the rehire on ' || strftime(timezone('UTC', w.rehired_at), '%Y-%m-%d')
            || '; no evidence that it was active between the termination and the rehire.'
        WHEN 'rehired' THEN 'Still active when the person was rehired on '
            || strftime(timezone('UTC', w.rehired_at), '%Y-%m-%d') || ', ' || w.judged_text
            || ' after the termination, '
            || CASE WHEN w.late THEN 'past' ELSE 'within' END
            || ' the ' || w.grace_text || ' grace period.'
        ELSE 'Still active at the evidence cut-off '
            || strftime(timezone('UTC', CAST($evidence_until AS TIMESTAMPTZ)), '%Y-%m-%d %H:%M')
            || ' UTC, ' || w.judged_text || ' after the termination, '
            || CASE WHEN w.late THEN 'past the ' || w.grace_text || ' grace period.'
                    ELSE 'within the ' || w.grace_text
                         || ' grace period: removal not yet due.' END
    END
    || CASE WHEN f.finding IS NOT NULL THEN ' Monitoring raised ' || f.finding || '.' ELSE '' END
        AS reason
FROM _deprovisioning_verdicts w
LEFT JOIN finding f USING (person_id, termination_date, app, account_id)
WHERE w.app IS NOT NULL
UNION ALL
SELECT t.person_id, t.display_name, t.termination_date, NULL, NULL, NULL, NULL, 'ok',
       'No app account belonged to this person.'
FROM _deprovisioning_verdicts t
WHERE t.app IS NULL
ORDER BY termination_date, person_id, app NULLS FIRST, account
