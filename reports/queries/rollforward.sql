-- Population completeness, the roll-forward per app (DOMAIN.md §2): accounts active at the
-- start of the period, plus those that became active, minus those that stopped, against those
-- active at the end; one row per app with listed accounts, then a total row (app NULL).
--
-- Parameters
--   $period_start, $period_end  half-open UTC period the movements fall in
--   $as_of                      data cut-off: the accounts listings as the store knew them then
--   $evidence_until             reported events are read from the runs completed up to here
--
-- An account is active at an instant when a version of it valid then says active (a version
-- without `active` counts as active, as everywhere else); versions of several sources that
-- overlap are one account. A change is in the period when its instant is at or after the
-- period start, up to the data cut-off, and before the period end: a change listed exactly at
-- the period end is the next period's, and the opening state is the one just before the start.
--   active_at_start  accounts active just before $period_start
--   created          accounts active for the first time (their first active version began in
--                    the period), except those in the app's first listing
--   first_listed     accounts already active in the app's first listing, when that listing
--                    lies in the period: first observed then, not created
--   reactivated      an account active again after being inactive or absent (each time)
--   removed          an active account becoming inactive or absent (each time)
--   active_at_end    accounts active at the cut-off
--   difference       active_at_start + created + first_listed + reactivated - removed
--                    - active_at_end. Each account counts once in a state and each spell of
--                    activity once in the movements, so it is 0 unless the listings
--                    contradict themselves; the explanation gives the sum in words and says
--                    when an app's first listing lies in the period (with its date)
--   events_created, events_removed  what the sources reported in the period (inferred = false,
--                    successful): account.create; account.deactivate, account.delete and
--                    app.unassign. An identity provider names the app by its label, matched
--                    case-insensitively; events of an app without a listing are not shown.
WITH
bounds AS (
    SELECT CAST($period_start AS TIMESTAMPTZ) AS period_start,
           CAST($period_end AS TIMESTAMPTZ) AS period_end,
           CAST($evidence_until AS TIMESTAMPTZ) AS evidence_until,
           -- The last instant whose listings this period covers (instants are microseconds):
           -- the data cut-off, but never the period end itself.
           least(CAST($as_of AS TIMESTAMPTZ),
                 CAST($period_end AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND) AS cutoff
),
-- Versions known at the cut-off; one closed after it is still open then.
versions AS (
    SELECT a.app, a.account_id, a.valid_from,
           CASE WHEN a.valid_to <= b.cutoff THEN a.valid_to END AS valid_to,
           coalesce(a.active, true) AS active
    FROM accounts a, bounds b
    WHERE a.valid_from <= b.cutoff
),
apps AS (
    SELECT app, min(valid_from) AS first_listing_at FROM versions GROUP BY app
),
-- One pass per account over its versions in order: how far the earlier versions reach (all,
-- and the active ones), and where the next active one begins.
ordered AS (
    SELECT app, account_id, active, valid_from, valid_to,
           max(valid_to) OVER earlier AS prev_to,
           max(valid_to) FILTER (WHERE active) OVER earlier AS prev_active_to,
           min(valid_from) FILTER (WHERE active) OVER later AS next_active_from
    FROM (SELECT app, account_id, active, valid_from,
                 coalesce(valid_to, CAST('infinity' AS TIMESTAMPTZ)) AS valid_to
          FROM versions)
    -- Only two sources' versions of the very same interval can tie on this order, and the
    -- counts below are the same whichever comes first: no (costly) text key is needed.
    WINDOW earlier AS (PARTITION BY app, account_id ORDER BY valid_from, valid_to
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           later AS (PARTITION BY app, account_id ORDER BY valid_from, valid_to
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
-- Active versions that touch or overlap the earlier ones form one spell of activity (an
-- attribute change, or two sources listing the same account); a gap (inactive or absent)
-- starts a new one. An active version starts a spell when no earlier active version reaches
-- its start; it ends one when no later active version begins within the spell's reach; it is
-- its account's row in the opening (closing) state when it covers that instant and no earlier
-- active version already does. So each spell and each account counts once, in one pass.
marked AS (
    SELECT app, account_id, valid_from, valid_to,
           -- The account's first spell (it starts one: nothing earlier reaches it).
           prev_active_to IS NULL AS first_spell,
           prev_active_to IS NULL OR valid_from > prev_active_to AS starts,
           greatest(valid_to, coalesce(prev_active_to, CAST('-infinity' AS TIMESTAMPTZ)))
               AS reach,
           next_active_from,
           coalesce(prev_active_to < (SELECT period_start FROM bounds), true) AS first_at_start,
           coalesce(prev_active_to < CAST('infinity' AS TIMESTAMPTZ), true) AS first_at_end
    FROM ordered
    WHERE active
),
moves AS (
    SELECT m.app,
           count(*) FILTER (WHERE m.valid_from < b.period_start AND m.valid_to >= b.period_start
                              AND m.first_at_start) AS active_at_start,
           count(*) FILTER (WHERE m.first_spell AND m.valid_from >= b.period_start
                              AND m.valid_from > a.first_listing_at) AS created,
           count(*) FILTER (WHERE m.first_spell AND m.valid_from >= b.period_start
                              AND m.valid_from = a.first_listing_at) AS first_listed,
           count(*) FILTER (WHERE m.starts AND NOT m.first_spell
                              AND m.valid_from >= b.period_start) AS reactivated,
           count(*) FILTER (WHERE (m.next_active_from IS NULL OR m.next_active_from > m.reach)
                              AND m.reach < CAST('infinity' AS TIMESTAMPTZ)
                              AND m.reach >= b.period_start) AS removed,
           count(*) FILTER (WHERE m.valid_to = CAST('infinity' AS TIMESTAMPTZ)
                              AND m.first_at_end) AS active_at_end
    FROM marked m
    JOIN apps a USING (app)
    CROSS JOIN bounds b
    GROUP BY m.app
),
-- Versions of one account valid at once: only several sources listing the same app do that.
overlapped AS (
    SELECT app, count(DISTINCT account_id) AS overlapping
    FROM ordered
    WHERE prev_to > valid_from
    GROUP BY app
),
reported AS (
    SELECT a.app,
           count(*) FILTER (WHERE e.action = 'account.create') AS events_created,
           count(*) FILTER (WHERE e.action <> 'account.create') AS events_removed
    FROM events e
    JOIN apps a ON lower(a.app) = lower(e.app)
    WHERE e.action IN ('account.create', 'account.deactivate', 'account.delete', 'app.unassign')
      AND NOT e.inferred AND e.outcome = 'success'
      AND e.occurred_at >= (SELECT period_start FROM bounds)
      AND e.occurred_at <= (SELECT cutoff FROM bounds)
      AND e.run_id IN (SELECT run_id FROM sync_runs
                       WHERE status = 'ok' AND as_of <= (SELECT evidence_until FROM bounds))
    GROUP BY a.app
),
per_app AS (
    SELECT a.app, a.first_listing_at,
           coalesce(m.active_at_start, 0) AS active_at_start,
           coalesce(m.created, 0) AS created,
           coalesce(m.reactivated, 0) AS reactivated,
           coalesce(m.first_listed, 0) AS first_listed,
           coalesce(m.removed, 0) AS removed,
           coalesce(m.active_at_end, 0) AS active_at_end,
           coalesce(o.overlapping, 0) AS overlapping,
           coalesce(r.events_created, 0) AS events_created,
           coalesce(r.events_removed, 0) AS events_removed,
           CASE WHEN coalesce(m.first_listed, 0) > 0 THEN
               'The app''s first listing, on '
               || strftime(timezone('UTC', a.first_listing_at), '%Y-%m-%d %H:%M')
               || ' UTC, lies inside the period: the ' || format('{:,}', m.first_listed)
               || CASE WHEN m.first_listed = 1 THEN ' account active in it was'
                       ELSE ' accounts active in it were' END
               || ' first observed then, not created (first listed).'
           END AS first_listed_text
    FROM apps a
    LEFT JOIN moves m USING (app)
    LEFT JOIN overlapped o USING (app)
    LEFT JOIN reported r USING (app)
),
total AS (
    SELECT NULL AS app, CAST(NULL AS TIMESTAMPTZ) AS first_listing_at,
           coalesce(sum(active_at_start), 0) AS active_at_start,
           coalesce(sum(created), 0) AS created,
           coalesce(sum(reactivated), 0) AS reactivated,
           coalesce(sum(first_listed), 0) AS first_listed,
           coalesce(sum(removed), 0) AS removed,
           coalesce(sum(active_at_end), 0) AS active_at_end,
           coalesce(sum(overlapping), 0) AS overlapping,
           coalesce(sum(events_created), 0) AS events_created,
           coalesce(sum(events_removed), 0) AS events_removed,
           CASE WHEN sum(first_listed) > 0 THEN
               format('{:,}', sum(first_listed))
               || CASE WHEN sum(first_listed) = 1 THEN ' account was' ELSE ' accounts were' END
               || ' active in their app''s first listing inside the period ('
               || string_agg(app || ' on '
                             || strftime(timezone('UTC', first_listing_at), '%Y-%m-%d %H:%M')
                             || ' UTC', ', ' ORDER BY app) FILTER (WHERE first_listed > 0)
               || '): first observed then, not created (first listed).'
           END AS first_listed_text
    FROM per_app
),
figures AS (
    SELECT *,
           active_at_start + created + first_listed + reactivated - removed - active_at_end
               AS difference
    FROM (SELECT * FROM per_app UNION ALL SELECT * FROM total)
)
SELECT
    app,
    first_listing_at,
    active_at_start,
    created,
    reactivated,
    first_listed,
    removed,
    active_at_end,
    difference,
    events_created,
    events_removed,
    format('{:,}', active_at_start) || ' active at the start + ' || format('{:,}', created)
    || ' created + '
    || CASE WHEN first_listed > 0 THEN format('{:,}', first_listed) || ' first listed + '
            ELSE '' END
    || format('{:,}', reactivated) || ' reactivated - ' || format('{:,}', removed)
    || ' removed = '
    || CASE WHEN difference = 0 THEN format('{:,}', active_at_end) || ' active at the end.'
            ELSE format('{:,}', active_at_start + created + first_listed + reactivated - removed)
                 || ', against ' || format('{:,}', active_at_end)
                 || ' active at the end: a difference of ' || format('{:,}', difference)
                 || '.' END
    || coalesce(' ' || first_listed_text, '')
    || CASE WHEN overlapping > 0 THEN
           ' ' || format('{:,}', overlapping)
           || CASE WHEN overlapping = 1 THEN ' account was' ELSE ' accounts were' END
           || ' listed by more than one source at once (overlapping versions), counted once.'
       ELSE '' END
    || CASE WHEN events_created <> created OR events_removed <> removed THEN
           ' The sources reported ' || format('{:,}', events_created) || ' account.create and '
           || format('{:,}', events_removed) || ' removal events (account.deactivate, '
           || 'account.delete, app.unassign) in the period.'
       ELSE '' END
        AS explanation
FROM figures
ORDER BY app NULLS LAST
