-- id: dormant_no_login
-- kind: dormant
-- subkind: no_login
-- severity: low
-- controls: CC6.2, A.5.18
-- parameters: dormant_days, grace_hours, license_cost
-- description: An active account whose last reported login is older than dormant_days (licence cost attached).
-- The last login is the newest of the app's own last_login_at and the account's `account.login`
-- events (successful, up to now); an account with neither is unknown, not dormant. IdP sign-ins
-- (SSO) are not app logins. Not reported: orphans (unmatched, or owner terminated past the grace
-- period) and people on leave (they keep their access). Owned service accounts are judged too:
-- an idle one is a paid seat and a standing credential.
WITH cur AS (
    SELECT o.app, o.account_id, o.user_name, o.person_id, o.person_kind, o.person_status,
           o.matched_by, o.last_login_at, o.created_at, o.valid_from, o.email
    FROM account_facts o
    WHERE o.active
      AND o.matched_by <> 'none'
      AND o.person_status IS DISTINCT FROM 'leave'
      AND NOT coalesce(
          o.person_status = 'terminated'
          AND o.termination_at + to_microseconds(CAST($grace_hours * 3600e6 AS BIGINT)) < $now,
          false)
),
logins AS (
    SELECT e.app, e.account_id, max(e.occurred_at) AS last_event_login, count(*) AS login_events
    FROM events e
    WHERE e.action = 'account.login'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.occurred_at <= $now
      AND e.account_id IS NOT NULL
    GROUP BY ALL
),
judged AS (
    SELECT c.*, l.last_event_login, coalesce(l.login_events, 0) AS login_events,
           greatest(c.last_login_at, l.last_event_login) AS last_login,
           k.cost
    FROM cur c
    LEFT JOIN logins l ON l.app = c.app AND l.account_id = c.account_id
    LEFT JOIN (SELECT lower(app) AS app_key, max(cost) AS cost FROM _license_cost GROUP BY 1) k
      ON k.app_key = lower(c.app)
)
SELECT
    j.app,
    j.account_id,
    j.user_name AS account,
    j.person_id,
    NULL AS entitlement,
    NULL AS rule,
    format('Account {} in {} has not logged in for {} days (last login {}, limit {} days){}.',
           j.user_name, j.app, date_diff('day', j.last_login, $now),
           strftime(timezone('UTC', j.last_login), '%Y-%m-%d'), $dormant_days,
           CASE WHEN j.cost IS NULL THEN '; no licence cost configured for the app'
                ELSE format('; its licence costs {} per month', printf('%.2f', j.cost)) END
    ) AS explanation,
    json_object(
        'account', json_object('app', j.app, 'account_id', j.account_id,
                               'user_name', j.user_name, 'email', j.email,
                               'created_at', j.created_at, 'valid_from', j.valid_from,
                               'last_login_at', j.last_login_at),
        'person', json_object('person_id', j.person_id, 'kind', j.person_kind,
                              'status', j.person_status),
        'matched_by', j.matched_by,
        'last_login', j.last_login,
        'last_login_event', j.last_event_login,
        'login_events', j.login_events,
        'days_since_login', date_diff('day', j.last_login, $now),
        'dormant_days', $dormant_days,
        'license_cost_per_month', j.cost
    ) AS evidence
FROM judged j
WHERE j.last_login IS NOT NULL
  AND j.last_login < $now - to_days(CAST($dormant_days AS INTEGER))
