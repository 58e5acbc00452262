-- id: creep_peer_outlier
-- kind: creep
-- subkind: peer_outlier
-- severity: low
-- controls: CC6.3, A.5.18
-- parameters: peer_outlier_pct, peer_min_group, mover_days, time_bound
-- description: An active person holds an entitlement that under peer_outlier_pct% of their peers hold.
-- One finding per (account, entitlement); mover_residual and expired_grant on the same
-- (account, entitlement) take precedence. Peers include the person; department and title
-- compare trimmed and case-blind; IdP-only people are peers with their IdP department and title.
-- Holdings are the current grants of a person's own active accounts: owned service accounts
-- are neither judged nor counted. Only active people are judged (people on leave keep their
-- access); a person with neither department nor title has no peer group.
-- Held-since and the role/peer facts come from evidence/detections/sql/creep_holdings.sql
-- (temp tables _held and _creep_judged, built once per run by the runner).
SELECT
    j.app,
    j.account_id,
    j.user_name AS account,
    j.person_id,
    j.entitlement,
    NULL AS rule,
    format('Account {} in {} holds {}, which only {} of the {} active peers of person {} '
           || '({}) hold, under the {}% limit.',
           j.user_name, j.app, j.entitlement, j.peer_holders, j.peers, j.person_id,
           concat_ws(' / ', j.department, j.title),
           printf('%g', CAST($peer_outlier_pct AS DOUBLE))) AS explanation,
    json_object(
        'person', json_object('person_id', j.person_id, 'kind', j.person_kind,
                              'status', j.person_status,
                              'department', j.department, 'title', j.title),
        'account', json_object('app', j.app, 'account_id', j.account_id,
                               'user_name', j.user_name, 'matched_by', j.matched_by),
        'grant', _creep_grant(j),
        'events', _creep_grant_events(j),
        'peers', j.peers,
        'holders', j.peer_holders,
        'share_pct', round(100.0 * j.peer_holders / j.peers, 2),
        'peer_outlier_pct', $peer_outlier_pct,
        'peer_min_group', $peer_min_group
    ) AS evidence
FROM _creep_judged j
WHERE j.is_outlier AND NOT j.is_mover AND NOT j.is_expired
