-- id: creep_expired_grant
-- kind: creep
-- subkind: expired_grant
-- severity: high
-- controls: CC6.2, CC6.3, A.5.18
-- parameters: time_bound, mover_days, peer_outlier_pct
-- description: A time-bound entitlement held past its expiry (the source's expiry, or policy.time_bound max_days).
-- One finding per (account, entitlement) on every active account (owned, orphaned, unmatched or
-- service: an expired grant is a fact about the grant); a mover_residual finding on the same
-- (account, entitlement) takes precedence. policy.time_bound app and entitlement compare
-- case-blind (the smallest max_days wins if listed twice).
-- Held since = the start of the current continuous holding: the latest source-reported grant
-- event (group.member.add / privilege.grant, matched by account, or by owner for IdP events
-- such as Okta group pushes) at or before the first snapshot that showed the grant, when no
-- removal event follows it; else that first snapshot (for a grant already there at the first
-- listing of its source, a lower bound: it was held at least since then).
-- Held-since and the role/peer facts come from evidence/detections/sql/creep_holdings.sql
-- (temp tables _held and _creep_judged, built once per run by the runner).
SELECT
    j.app,
    j.account_id,
    j.user_name AS account,
    j.person_id,
    j.entitlement,
    NULL AS rule,
    CASE WHEN j.expires_at < $now THEN
        format('Account {} in {} still holds {}, which the source reports expired on {}.',
               j.user_name, j.app, j.entitlement,
               strftime(timezone('UTC', j.expires_at), '%Y-%m-%d'))
    ELSE
        format('Account {} in {} has held the time-bound {} for {} days (since {}, by {}), '
               || 'longer than the {} days policy.time_bound allows.',
               j.user_name, j.app, j.entitlement, date_diff('day', j.since, $now),
               strftime(timezone('UTC', j.since), '%Y-%m-%d'), j.since_basis, j.max_days)
    END AS explanation,
    json_object(
        'person', json_object('person_id', j.person_id, 'kind', j.person_kind,
                              'status', j.person_status),
        'account', json_object('app', j.app, 'account_id', j.account_id,
                               'user_name', j.user_name, 'matched_by', j.matched_by,
                               'service_account', j.service_account),
        'grant', _creep_grant(j),
        'events', _creep_grant_events(j),
        'days_held', date_diff('day', j.since, $now),
        'time_bound_max_days', j.max_days,
        'source_expired', coalesce(j.expires_at < $now, false)
    ) AS evidence
FROM _creep_judged j
WHERE j.is_expired AND NOT j.is_mover
