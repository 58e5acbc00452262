-- Population completeness, the termination reconciliation (DOMAIN.md §2: HR terminations
-- against identity-provider deactivations and app removals, as counts). Returns
-- (ord, figure, value, note), one row per figure, in print order; each split sums to its
-- whole, as the notes say.
--
-- Parameters (the text below reads $as_of and $evidence_until; deprovisioning_verdicts.sql all)
--   period_start, period_end    half-open UTC period that the termination dates fall in
--   as_of                       data cut-off: HR records as the store knew them then
--   evidence_until              listings and events are read up to here
--   grace_hours, deprovision_sla_hours  used by deprovisioning_verdicts.sql (not by these counts)
--
-- The terminations and their app accounts are the deprovisioning population's: both read
-- deprovisioning_verdicts.sql's rows (run first, into _deprovisioning_verdicts), which include
-- evidence/detections/sla_deprovision_late.sql's block, so the counts agree with that
-- population by construction.
--
-- The identity provider's side, per termination: the IdP users matched to the person
-- (idp_user_owners; for a person known only to the IdP, that user itself; a user no longer
-- listed, which the matcher no longer covers, by its employee number = person id, or its
-- email or login = the person's HR email or an alias). Each user's state is the newest word
-- up to the evidence cut-off, or before the rehire when the person was rehired: its last
-- listing (ended when deprovisioned, deleted or suspended, or no longer listed; dated by the
-- last full listing of its source that still showed it), unless a reported lifecycle event
-- came later (user.deactivate, user.suspend, user.delete end; user.activate, user.unsuspend,
-- user.create restore). A person is deactivated when every matched user ended, still active
-- when one did not, and without an IdP user when none is matched.
-- prepare: deprovisioning_verdicts.sql
WITH
bounds AS (
    SELECT CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- The sync runs that count: successful ones up to the evidence cut-off.
-- include: sla_deprovision_late.sql counted_runs
terminations AS (
    SELECT DISTINCT person_id, termination_date, from_hr, rehired_at
    FROM _deprovisioning_verdicts
),
-- The population's app accounts (a termination without one has a row with no app).
accounts_owned AS (
    SELECT * FROM _deprovisioning_verdicts WHERE app IS NOT NULL
),
-- Keys of the terminated people and of IdP users the matcher no longer lists (deleted).
person_keys AS (
    SELECT DISTINCT person_id, 'employee_number' AS kind, person_id AS key FROM terminations
    UNION
    SELECT p.person_id, 'email', lower(trim(p.email))
    FROM people p
    SEMI JOIN terminations t USING (person_id)
    WHERE p.valid_from <= (SELECT as_of FROM bounds) AND trim(coalesce(p.email, '')) <> ''
    UNION
    SELECT p.person_id, 'email', lower(trim(a.alias))
    FROM people p
    SEMI JOIN terminations t USING (person_id)
    CROSS JOIN unnest(string_split(coalesce(p.aliases, ''), ';')) AS a(alias)
    WHERE p.valid_from <= (SELECT as_of FROM bounds) AND trim(a.alias) <> ''
),
unlisted_users AS (
    SELECT user_id, employee_number, email, login
    FROM idp_users i
    WHERE i.valid_from <= (SELECT evidence_until FROM bounds)
      AND NOT EXISTS (SELECT 1 FROM idp_user_owners o WHERE o.user_id = i.user_id)
),
unlisted_keys AS (
    SELECT user_id, 'employee_number' AS kind, employee_number AS key FROM unlisted_users
    WHERE coalesce(employee_number, '') <> ''
    UNION
    SELECT user_id, 'email', lower(trim(email)) FROM unlisted_users
    WHERE trim(coalesce(email, '')) <> ''
    UNION
    SELECT user_id, 'email', lower(trim(login)) FROM unlisted_users
    WHERE trim(coalesce(login, '')) <> ''
),
idp_matched AS (
    SELECT t.person_id, t.termination_date, o.user_id
    FROM terminations t
    JOIN idp_user_owners o ON o.person_id = t.person_id
    UNION
    SELECT t.person_id, t.termination_date, o.user_id
    FROM terminations t
    JOIN idp_user_owners o ON o.user_id = t.person_id AND o.person_id IS NULL
    UNION
    SELECT t.person_id, t.termination_date, u.user_id
    FROM terminations t
    JOIN person_keys k ON k.person_id = t.person_id
    JOIN unlisted_keys u ON u.kind = k.kind AND u.key = k.key
),
idp_subjects AS (
    SELECT m.person_id, m.termination_date, m.user_id, t.rehired_at
    FROM idp_matched m
    JOIN terminations t USING (person_id, termination_date)
),
-- Each user's last version up to the horizon (the evidence cut-off, or before the rehire).
idp_last AS (
    SELECT s.person_id, s.termination_date, s.user_id, s.rehired_at,
           i.source, i.valid_from, i.lifecycle,
           i.valid_to IS NOT NULL AND i.valid_to <= (SELECT evidence_until FROM bounds)
               AND (s.rehired_at IS NULL OR i.valid_to < s.rehired_at) AS unlisted,
           i.valid_to
    FROM idp_subjects s
    JOIN idp_users i ON i.user_id = s.user_id
    WHERE i.valid_from <= (SELECT evidence_until FROM bounds)
      AND (s.rehired_at IS NULL OR i.valid_from < s.rehired_at)
    QUALIFY row_number() OVER (
        PARTITION BY s.person_id, s.termination_date, s.user_id
        ORDER BY i.valid_from DESC, i.source) = 1
),
idp_confirmed AS (
    SELECT l.person_id, l.termination_date, l.user_id, max(r.as_of) AS confirmed_at
    FROM idp_last l
    JOIN runs r ON r.source = l.source AND r.mode = 'full' AND r.as_of >= l.valid_from
     AND (l.rehired_at IS NULL OR r.as_of < l.rehired_at)
    GROUP BY ALL
),
idp_listing AS (
    SELECT l.person_id, l.termination_date, l.user_id,
           l.unlisted OR coalesce(l.lifecycle IN ('deprovisioned', 'deleted', 'suspended'), false)
               AS ended,
           CASE WHEN l.unlisted THEN l.valid_to
                ELSE greatest(l.valid_from, c.confirmed_at) END AS listed_at
    FROM idp_last l
    LEFT JOIN idp_confirmed c USING (person_id, termination_date, user_id)
),
idp_last_event AS (
    SELECT s.person_id, s.termination_date, s.user_id, e.action, e.occurred_at
    FROM idp_subjects s
    JOIN events e ON e.person_id = s.user_id
    WHERE e.action IN ('user.deactivate', 'user.suspend', 'user.delete',
                       'user.activate', 'user.unsuspend', 'user.create')
      AND NOT e.inferred AND e.outcome = 'success'
      AND e.occurred_at <= (SELECT evidence_until FROM bounds)
      AND (s.rehired_at IS NULL OR e.occurred_at < s.rehired_at)
      AND e.run_id IN (SELECT run_id FROM runs)
    QUALIFY row_number() OVER (
        PARTITION BY s.person_id, s.termination_date, s.user_id
        ORDER BY e.occurred_at DESC, e.seq DESC) = 1
),
idp_state AS (
    SELECT s.person_id, s.termination_date,
           l.user_id IS NOT NULL OR v.user_id IS NOT NULL AS known,
           CASE WHEN v.occurred_at IS NOT NULL
                     AND (l.user_id IS NULL OR v.occurred_at > l.listed_at)
                THEN v.action IN ('user.deactivate', 'user.suspend', 'user.delete')
                ELSE l.ended END AS ended
    FROM idp_subjects s
    LEFT JOIN idp_listing l USING (person_id, termination_date, user_id)
    LEFT JOIN idp_last_event v USING (person_id, termination_date, user_id)
),
idp_people AS (
    SELECT person_id, termination_date,
           count(*) FILTER (WHERE known) AS users,
           coalesce(bool_and(ended) FILTER (WHERE known), false) AS all_ended
    FROM idp_state
    GROUP BY ALL
),
per_termination AS (
    SELECT t.person_id, t.termination_date,
           t.from_hr,
           CASE WHEN coalesce(i.users, 0) = 0 THEN 'none'
                WHEN i.all_ended THEN 'ended'
                ELSE 'active' END AS idp,
           o.person_id IS NOT NULL AS has_accounts
    FROM terminations t
    LEFT JOIN idp_people i USING (person_id, termination_date)
    LEFT JOIN (SELECT DISTINCT person_id, termination_date FROM accounts_owned) o
      USING (person_id, termination_date)
),
t AS (
    SELECT count(*) AS terminations,
           count(*) FILTER (WHERE from_hr) AS hr,
           count(*) FILTER (WHERE NOT from_hr) AS idp_only,
           count(*) FILTER (WHERE idp = 'ended') AS idp_ended,
           count(*) FILTER (WHERE idp = 'active') AS idp_active,
           count(*) FILTER (WHERE idp = 'none') AS idp_none,
           count(*) FILTER (WHERE has_accounts) AS with_accounts,
           count(*) FILTER (WHERE NOT has_accounts) AS without_accounts
    FROM per_termination
),
a AS (
    SELECT count(*) AS accounts,
           count(*) FILTER (WHERE outcome IN ('reported', 'listing')) AS removed,
           count(*) FILTER (WHERE outcome = 'reported') AS reported,
           count(*) FILTER (WHERE outcome = 'listing') AS listing,
           count(*) FILTER (WHERE outcome = 'before') AS before,
           count(*) FILTER (WHERE outcome = 'active') AS active,
           count(*) FILTER (WHERE outcome IN ('rehired', 'after_rehire')) AS rehire,
           count(*) FILTER (WHERE outcome = 'never_active') AS never_active
    FROM accounts_owned
),
figures AS (
    SELECT 1 AS ord, 'Terminations in the period' AS figure, terminations AS value,
           'Terminations dated in the period, as the deprovisioning population draws them; '
           || 'a person terminated twice counts twice. 1 = 2 + 3 = 4 + 5 + 6 = 7 + 8.' AS note
    FROM t
    UNION ALL
    SELECT 2, 'HR terminations', hr,
           'From the HR records known at the data cut-off.' FROM t
    UNION ALL
    SELECT 3, 'Identity-provider deprovisioning of people without an HR record', idp_only,
           'People known only to the identity provider, deprovisioned or deleted there.' FROM t
    UNION ALL
    SELECT 4, 'Deactivated in the identity provider', idp_ended,
           'Every identity-provider user matched to the person was deprovisioned, deleted or '
           || 'suspended: by its last listing, or a later reported lifecycle event, up to the '
           || 'evidence cut-off (or the rehire).' FROM t
    UNION ALL
    SELECT 5, 'Still active in the identity provider', idp_active,
           'At least one identity-provider user matched to the person was not deprovisioned, '
           || 'deleted or suspended by then.' FROM t
    UNION ALL
    SELECT 6, 'Without an identity-provider user', idp_none,
           'No identity-provider user is matched to the person.' FROM t
    UNION ALL
    SELECT 7, 'Terminations with app accounts', with_accounts,
           'At least one app account belonged to the person.' FROM t
    UNION ALL
    SELECT 8, 'Terminations without an app account', without_accounts,
           'Listed once in the deprovisioning population, as ok.' FROM t
    UNION ALL
    SELECT 9, 'App accounts of the terminated people', accounts,
           'One per termination and account, as in the deprovisioning population (owned '
           || 'service accounts excepted). 9 = 10 + 13 + 14 + 15 + 16.' FROM a
    UNION ALL
    SELECT 10, 'Removed after the termination', removed, '10 = 11 + 12.' FROM a
    UNION ALL
    SELECT 11, 'Removed: reported by the app or identity provider', reported,
           'A reported account.deactivate, account.delete or app.unassign.' FROM a
    UNION ALL
    SELECT 12, 'Removed: observed in the listings', listing,
           'No removal event; a listing showed the account inactive or absent.' FROM a
    UNION ALL
    SELECT 13, 'Access had ended before the termination', before,
           'Inactive or absent from before the termination.' FROM a
    UNION ALL
    SELECT 14, 'Still active at the evidence cut-off', active,
           'Not removed by the evidence cut-off, whether still inside the grace period or '
           || 'past it (the removal-latency table counts those past it).' FROM a
    UNION ALL
    SELECT 15, 'Kept through a rehire', rehire,
           'Still active when the person was rehired, or first active after the rehire: the '
           || 'new employment''s access.' FROM a
    UNION ALL
    SELECT 16, 'Never active', never_active,
           'Never observed active in a listing or a reported event.' FROM a
)
SELECT ord, figure, value, note FROM figures ORDER BY ord
