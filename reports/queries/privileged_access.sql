-- Privileged access: the population of SOC 2 CC6.3 (least privilege), ISO 27001 A.8.2 and
-- HIPAA 164.308(a)(4)(ii)(C).
--
-- One row per privileged (app, account, entitlement) held at some instant of the period.
-- Privileged is decided as creep_privilege_accumulation.sql decides it: the entitlement matches
-- a policy.privileged glob of the report's policy, case-blind (`_privileged`); the sync-time
-- grants.privileged flag is not read. Held = a grant version listed while an active version of
-- its account was listed (a grant on an inactive account gives no access); contiguous or
-- overlapping spells (attribute changes, two sources) are one holding. held_from/held_to are
-- the first start and last end of the holdings that touch the period (NULL held_to: still
-- held at the evidence cut-off). status is ok | exception; reason is a sentence.
--
-- Exceptions:
--   - the account matches no person and is not an owned service account (or was never
--     matched);
--   - the owner (an owned service account's owner for a service account) was terminated, or
--     deprovisioned in the IdP for an IdP-only person, and the holding lasted more than
--     $grace_hours after it (judged on evidence up to $evidence_until, as the deprovisioning
--     test judges removals); an owner terminated with no date recorded, or not known at all;
--   - a creep/expired_grant finding for the (app, account, entitlement), or a
--     creep/privilege_accumulation finding for the account (it marks every privileged row of
--     that account), whose life overlaps the period. A finding naming an item this query would
--     not list (an expired grant not matched by policy.privileged, an account with no
--     privileged holding in the period) adds that item as a row.
--
-- Parameters
--   $period_start, $period_end  half-open UTC period the holdings overlap
--   $as_of                      data cut-off: owners' HR and IdP records as known then
--   $evidence_until             grant and account listings and findings read up to here
--   $grace_hours                a terminated owner's holding kept longer than this: exception
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($as_of AS TIMESTAMPTZ) AS as_of,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until
),
-- The distinct entitlements are few: globbing them against the patterns is cheap.
priv_ents AS (
    SELECT DISTINCT e.entitlement
    FROM (SELECT DISTINCT entitlement FROM grants) e
    JOIN _privileged p ON lower(e.entitlement) GLOB p.pattern
),
-- Monitoring's findings of the two creep kinds whose life overlaps the period, worded.
found AS (
    SELECT f.subkind, f.app, f.account_id, f.entitlement, f.first_seen_at, f.finding_id,
           'creep/' || f.subkind || ' ' || f.finding_id || ' on '
           || strftime(timezone('UTC', f.first_seen_at), '%Y-%m-%d') || ' (status ' || f.status
           || CASE WHEN f.status = 'accepted' THEN
                  ', accepted risk ' || coalesce(f.accepted_ticket, 'without ticket')
                  || ' owned by ' || coalesce(f.accepted_owner, 'nobody')
                  || coalesce(' until '
                     || strftime(timezone('UTC', f.accepted_until), '%Y-%m-%d'), '')
              ELSE '' END || ')' AS text
    FROM findings f, bounds b
    WHERE f.kind = 'creep' AND f.subkind IN ('expired_grant', 'privilege_accumulation')
      AND f.first_seen_at < b.period_end AND f.first_seen_at <= b.evidence_until
      AND (f.resolved_at IS NULL OR f.resolved_at >= b.period_start)
),
-- Per item (expired_grant) and per account (privilege_accumulation), every finding named.
expired_keys AS (
    SELECT app, account_id, entitlement,
           string_agg(text, '; ' ORDER BY first_seen_at, finding_id) AS text
    FROM found WHERE subkind = 'expired_grant'
    GROUP BY ALL
),
accumulated AS (
    SELECT app, account_id, string_agg(text, '; ' ORDER BY first_seen_at, finding_id) AS text
    FROM found WHERE subkind = 'privilege_accumulation'
    GROUP BY ALL
),
-- Grant versions of the privileged entitlements and of the expired-grant findings' items,
-- up to the evidence cut-off (a version closed after it counts as still open).
grant_versions AS (
    SELECT g.app, g.account_id, g.entitlement, g.valid_from, g.expires_at,
           CASE WHEN g.valid_to <= b.evidence_until THEN g.valid_to
                ELSE CAST('infinity' AS TIMESTAMPTZ) END AS valid_to
    FROM grants g SEMI JOIN priv_ents USING (entitlement), bounds b
    WHERE g.valid_from <= b.evidence_until
    UNION ALL
    SELECT g.app, g.account_id, g.entitlement, g.valid_from, g.expires_at,
           CASE WHEN g.valid_to <= b.evidence_until THEN g.valid_to
                ELSE CAST('infinity' AS TIMESTAMPTZ) END
    FROM grants g
    SEMI JOIN expired_keys USING (app, account_id, entitlement), bounds b
    WHERE g.valid_from <= b.evidence_until
      AND g.entitlement NOT IN (SELECT entitlement FROM priv_ents)
),
-- include: role_changes.sql holding_islands
islands AS (
    SELECT app, account_id, entitlement, island,
           min(piece_from) AS held_from, max(piece_to) AS held_to,
           arg_max_null(expires_at, [epoch_us(piece_from), coalesce(epoch_us(expires_at), 0)])
               AS expires_at,
           arg_max(user_name, struct_pack(f := piece_from, u := user_name)) AS user_name
    FROM numbered
    GROUP BY ALL
),
-- The holdings that touch the period, one row per (app, account, entitlement).
held AS (
    SELECT i.app, i.account_id, i.entitlement,
           min(i.held_from) AS held_from, max(i.held_to) AS held_to, count(*) AS spells,
           arg_max_null(i.expires_at, i.held_from) AS expires_at,
           arg_max(i.user_name, i.held_from) AS user_name
    FROM islands i, bounds b
    WHERE i.held_from < b.period_end AND i.held_to > b.period_start
    GROUP BY ALL
),
-- The population's items: privileged holdings, every expired-grant finding's item, and the
-- accounts of accumulation findings that have no privileged holding in the period.
items AS (
    SELECT app, account_id, entitlement FROM held SEMI JOIN priv_ents USING (entitlement)
    UNION
    SELECT app, account_id, entitlement FROM expired_keys
    UNION
    SELECT app, account_id, NULL
    FROM accumulated
    ANTI JOIN (SELECT app, account_id FROM held SEMI JOIN priv_ents USING (entitlement)) h
      USING (app, account_id)
),
-- Owners' records as known at the data cut-off. HR: the latest version of each record (a
-- record a later export dropped keeps its last one), then each person's best record as the
-- matcher ranks them (an active employment over a leave over a terminated one, latest hire).
-- segregation_of_duties.sql includes the block below.
-- shared: people_roster
hr AS (
    SELECT p.source, p.person_id, p.hire_date, p.display_name, p.status, p.termination_date
    FROM people p, bounds b
    WHERE p.valid_from <= b.as_of
    QUALIFY row_number() OVER (
        PARTITION BY p.source, p.person_id, p.hire_date ORDER BY p.valid_from DESC) = 1
),
hr_best AS (
    SELECT person_id, 0 AS kind_rank, 'hr' AS kind, display_name, status,
           CASE WHEN status = 'terminated' THEN termination_date END AS ended_at
    FROM hr
    QUALIFY row_number() OVER (
        PARTITION BY person_id
        ORDER BY CASE status WHEN 'active' THEN 0 WHEN 'leave' THEN 1 ELSE 2 END,
                 hire_date DESC NULLS LAST, termination_date DESC NULLS LAST, source) = 1
),
-- IdP-only people (no HR record): status from the canonical lifecycle, their end dated as the
-- matcher dates it: the reported status change, else the first listing of the unbroken run of
-- deprovisioned or deleted versions.
idp_versions AS (
    SELECT i.source, i.user_id, i.valid_from, i.status_changed_at, i.lifecycle,
           coalesce(i.display_name, i.login) AS display_name,
           coalesce(i.lifecycle IN ('deprovisioned', 'deleted'), false) AS ended
    FROM idp_users i
    SEMI JOIN (SELECT user_id FROM idp_user_owners WHERE person_id IS NULL) o USING (user_id),
    bounds b
    WHERE i.valid_from <= b.as_of
),
idp_runs AS (
    SELECT v.*,
           max(v.valid_from) FILTER (WHERE NOT v.ended)
               OVER (PARTITION BY v.source, v.user_id) AS last_live
    FROM idp_versions v
),
idp_best AS (
    SELECT user_id AS person_id, 1 AS kind_rank, 'idp_only' AS kind, display_name,
           CASE WHEN ended THEN 'terminated' WHEN lifecycle = 'suspended' THEN 'leave'
                ELSE 'active' END AS status,
           CASE WHEN ended THEN least(status_changed_at, end_from) END AS ended_at
    FROM (
        SELECT r.*,
               min(r.valid_from) FILTER (
                   WHERE r.ended AND r.valid_from > coalesce(r.last_live, '-infinity'))
                   OVER (PARTITION BY r.source, r.user_id) AS end_from
        FROM idp_runs r
    )
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY valid_from DESC, source) = 1
),
roster AS (
    SELECT * FROM (SELECT * FROM hr_best UNION ALL SELECT * FROM idp_best)
    QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY kind_rank) = 1
),
-- end shared: people_roster
judged AS (
    SELECT i.app, i.account_id, i.entitlement,
           coalesce(h.user_name, o.user_name, i.account_id) AS account,
           o.person_id, coalesce(o.service_account, false) AS service_account,
           r.display_name, r.status AS person_status, r.kind, r.ended_at,
           h.held_from, CASE WHEN h.held_to < CAST('infinity' AS TIMESTAMPTZ) THEN h.held_to END
               AS held_to,
           h.spells, h.expires_at,
           i.entitlement IN (SELECT entitlement FROM priv_ents) AS privileged,
           o.person_id IS NULL AS unmatched,
           o.person_id IS NOT NULL AND r.person_id IS NULL AS unknown_owner,
           -- Hours the holding lasted after the owner's end (to the cut-off when still held).
           (epoch_us(least(h.held_to, b.evidence_until)) - epoch_us(r.ended_at)) / 3600e6
               AS kept_hours
    FROM items i
    CROSS JOIN bounds b
    LEFT JOIN held h
      ON h.app = i.app AND h.account_id = i.account_id AND h.entitlement = i.entitlement
    LEFT JOIN account_facts o ON o.app = i.app AND o.account_id = i.account_id
    LEFT JOIN roster r ON r.person_id = o.person_id
),
verdicts AS (
    SELECT j.*,
           j.person_status = 'terminated'
           AND (j.ended_at IS NULL OR j.kept_hours > $grace_hours) AS kept_late,
           e.text AS expired,
           -- An accumulation finding is about the account's privileged entitlements.
           CASE WHEN j.privileged OR j.entitlement IS NULL THEN a.text END AS accumulated
    FROM judged j
    LEFT JOIN expired_keys e
      ON e.app = j.app AND e.account_id = j.account_id AND e.entitlement = j.entitlement
    LEFT JOIN accumulated a ON a.app = j.app AND a.account_id = j.account_id
)
SELECT
    v.app,
    v.account,
    v.account_id,
    v.entitlement,
    v.person_id,
    v.display_name,
    v.person_status,
    v.held_from,
    v.held_to,
    v.expires_at,
    CASE WHEN v.unmatched OR v.unknown_owner OR v.kept_late OR v.expired IS NOT NULL
              OR v.accumulated IS NOT NULL
         THEN 'exception' ELSE 'ok' END AS status,
    CASE
        WHEN v.entitlement IS NULL THEN 'No privileged entitlement of this account was held '
            || 'on an active account in the period'
        WHEN v.held_from IS NULL THEN 'Not held on an active account in the period'
        ELSE 'Held from ' || strftime(timezone('UTC', v.held_from), '%Y-%m-%d %H:%M') || ' UTC'
            || CASE WHEN v.held_to IS NULL THEN ', still held at the evidence cut-off '
                        || strftime(timezone('UTC', b.evidence_until), '%Y-%m-%d %H:%M')
                        || ' UTC'
                    ELSE ' to ' || strftime(timezone('UTC', v.held_to), '%Y-%m-%d %H:%M')
                        || ' UTC' END
            || CASE WHEN v.spells > 1 THEN ' (in ' || v.spells || ' separate spells)' ELSE '' END
            || CASE WHEN v.privileged THEN '' ELSE ', not privileged under policy.privileged' END
    END
    || '; '
    || CASE
        WHEN v.unmatched THEN 'the account matches no person and is not an owned service '
            || 'account.'
        ELSE CASE WHEN v.service_account THEN 'an owned service account, judged by its owner '
                       || v.person_id || ', who'
                  ELSE 'its owner ' || v.person_id END
            || CASE
                WHEN v.unknown_owner THEN ' is not a known person at the data cut-off.'
                WHEN v.person_status <> 'terminated' THEN ' was '
                    || CASE v.person_status WHEN 'leave' THEN 'on leave' ELSE v.person_status END
                    || ' at the data cut-off.'
                WHEN v.ended_at IS NULL THEN ' is terminated, with no termination date recorded.'
                ELSE CASE WHEN v.kind = 'idp_only'
                          THEN ' was deprovisioned in the identity provider '
                          ELSE ' was terminated ' END
                    || strftime(timezone('UTC', v.ended_at), '%Y-%m-%d %H:%M') || ' UTC'
                    || CASE
                        WHEN v.held_from IS NULL THEN '.'
                        WHEN v.kept_hours <= 0 THEN ', when the holding had already ended.'
                        WHEN v.held_to IS NULL THEN ', '
                            || printf('%.1f h', round(v.kept_hours, 1))
                            || ' before the evidence cut-off, '
                            || CASE WHEN v.kept_late
                                    THEN 'past the ' || printf('%g h', CAST($grace_hours AS DOUBLE))
                                         || ' grace period.'
                                    ELSE 'within the '
                                         || printf('%g h', CAST($grace_hours AS DOUBLE))
                                         || ' grace period: removal not yet due.' END
                        ELSE ', and the holding lasted '
                            || printf('%.1f h', round(v.kept_hours, 1)) || ' after it, '
                            || CASE WHEN v.kept_late THEN 'past' ELSE 'within' END || ' the '
                            || printf('%g h', CAST($grace_hours AS DOUBLE)) || ' grace period.'
                    END
            END
    END
    || coalesce(' Monitoring raised ' || v.expired || '.', '')
    || coalesce(' Monitoring raised ' || v.accumulated || ' for this account.', '')
        AS reason
FROM verdicts v, bounds b
ORDER BY v.app, v.account_id, v.entitlement NULLS FIRST
