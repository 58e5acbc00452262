-- id: creep_mover_residual
-- kind: creep
-- subkind: mover_residual
-- severity: medium
-- controls: CC6.2, CC6.3, A.5.18
-- parameters: mover_days, peer_outlier_pct
-- description: A mover keeps an entitlement of the previous role mover_days after the move (most old peers hold it, few new peers do).
-- One finding per (account, entitlement); takes precedence over expired_grant and peer_outlier.
-- The move is read from HR history: consecutive people versions with the same department and
-- title collapse; the current role began at the latest version whose role differs from the
-- one before it (the move instant is its effective_at, else its valid_from), and the old role
-- is the one right before. Peers are the active people of a role (HR, and IdP-only people
-- with their IdP department and title), holdings the current grants of their own active
-- accounts (owned service accounts excluded). Judged whatever the person's status: a person
-- on leave keeps their access, but not a previous role's; orphaned accounts are judged too.
-- Held-since and the role/peer facts come from evidence/detections/sql/creep_holdings.sql
-- (temp tables _held and _creep_judged, built once per run by the runner).
SELECT
    j.app,
    j.account_id,
    j.user_name AS account,
    j.person_id,
    j.entitlement,
    NULL AS rule,
    format('Account {} in {} still holds {} from the role {} that its owner left {} days ago '
           || '(held there by {} of {} active peers), while {} of the {} peers of the new role '
           || '{} hold it (limits: {} days after a move, under {}% of peers).',
           j.user_name, j.app, j.entitlement,
           concat_ws(' / ', j.old_department, j.old_title),
           date_diff('day', j.moved_at, $now),
           j.old_peer_holders, j.old_peers, j.peer_holders, j.peers,
           concat_ws(' / ', j.department, j.title),
           $mover_days, printf('%g', CAST($peer_outlier_pct AS DOUBLE))) AS explanation,
    json_object(
        'person', json_object('person_id', j.person_id, 'kind', j.person_kind,
                              'status', j.person_status,
                              'department', j.department, 'title', j.title),
        'person_versions', json_object(
            'old', json_object('department', j.old_department, 'title', j.old_title,
                               'valid_from', j.old_valid_from,
                               'effective_at', j.old_effective_at),
            'new', json_object('department', j.department, 'title', j.title,
                               'valid_from', j.move_seen_at, 'effective_at', j.moved_at)),
        'moved_at', j.moved_at,
        'days_since_move', date_diff('day', j.moved_at, $now),
        'account', json_object('app', j.app, 'account_id', j.account_id,
                               'user_name', j.user_name, 'matched_by', j.matched_by),
        'grant', _creep_grant(j),
        'events', _creep_grant_events(j),
        'peers', json_object(
            'old_role', json_object('peers', j.old_peers, 'holders', j.old_peer_holders),
            'new_role', json_object('peers', j.peers, 'holders', j.peer_holders)),
        'mover_days', $mover_days,
        'peer_outlier_pct', $peer_outlier_pct
    ) AS evidence
FROM _creep_judged j
WHERE j.is_mover
