"""A whole tenant straight into a store with set operations, for the detection benchmarks.

At `people` x `apps` it holds about people*apps/6 accounts (5M at 100k x 300), one per
person in the `core` app (app0), about 0.5 grants per account, the IdP's
assignments and pushed groups for two apps in three, moved people, and about four events per
account (20M at enterprise scale). Every finding subkind occurs. Deterministic: every value is
a function of the row numbers (DuckDB's hash of them picks the sparse cases).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evidence.sql import run_sql

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TERMINATED = "TIMESTAMPTZ '2026-06-01'"


def _h(salt: str, n: int) -> str:
    """A pseudo-random residue of (i, a): picks sparse cases independently of each other."""
    return f"(hash(i, a, '{salt}') % {n})"


def _hp(salt: str, n: int) -> str:
    """The same for a person alone."""
    return f"(hash(i, '{salt}') % {n})"


MOVER = f"{_hp('mover', 10)} = 0"  # moved department on 2026-06-01
KEEPER = f"{_hp('keep', 4)} = 0"  # ... and still holds the old department's entitlement

# (i, a) holds an account: every person in app0 (core); elsewhere a department uses one app
# in six (everyone in it has an account).
_HAS = "(a = 0 OR hash(i % 40, a, 'acc') % 6 = 0)"
_PAIRS = f"FROM range($people) t(i), range($apps) s(a) WHERE {_HAS}"


def build_tenant(con, people: int, apps: int, *, full: bool = True) -> None:  # noqa: ANN001
    p = {"people": people, "apps": apps, "now": NOW}
    # People: a tenth terminated (on 2026-06-01), 1 in 97 on leave, 1 in 50 with an alias;
    # 40 departments x 3 titles. One in ten moved department on 2026-06-01.
    run_sql(
        con,
        f"""
        INSERT INTO people (source, valid_from, valid_to, run_id, row_hash, person_id, hire_date,
                            email, aliases, display_name, department, title, status,
                            termination_date, employment_type, effective_at)
        SELECT 'hr', TIMESTAMPTZ '2026-01-01', NULL, 0, md5(i::VARCHAR), 'E' || i,
               TIMESTAMPTZ '2020-01-01', 'p' || i || '@example.com',
               CASE WHEN i % 50 = 0 THEN 'old' || i || '@example.com' END,
               'Person ' || i, 'dept' || (i % 40), 'title' || (i % 3),
               CASE WHEN i % 10 = 0 THEN 'terminated' WHEN i % 97 = 0 THEN 'leave'
                    ELSE 'active' END,
               CASE WHEN i % 10 = 0 THEN {TERMINATED} END, 'employee',
               CASE WHEN {MOVER} THEN {TERMINATED} ELSE TIMESTAMPTZ '2020-01-01' END
        FROM range($people) t(i)
        """,
        p,
    )
    run_sql(
        con,
        """
        INSERT INTO idp_users (source, valid_from, valid_to, run_id, row_hash, user_id, login,
                               email, employee_number, display_name, department, title, status,
                               lifecycle)
        SELECT 'okta', $now, NULL, 0, md5(i::VARCHAR), '00u' || i, 'p' || i || '@example.com',
               'p' || i || '@example.com', 'E' || i, 'Person ' || i, 'dept' || (i % 40),
               'title' || (i % 3),
               CASE WHEN i % 10 = 0 THEN 'DEPROVISIONED' ELSE 'ACTIVE' END,
               CASE WHEN i % 10 = 0 THEN 'deprovisioned' ELSE 'active' END
        FROM range($people) t(i)
        """,
        p,
    )
    # Accounts: 1 in 500 matches nobody; 1 in 3 links only by externalId; aliases by the old
    # address; the rest by a mixed-case email. 1 in 50 inactive, and a leaver's accounts are
    # deactivated 7 in 8. A quarter report a last login; even apps report name and department
    # (1 in 301 departments differs from HR). 1 in 400 people hold a second account.
    run_sql(
        con,
        f"""
        INSERT INTO accounts (source, valid_from, valid_to, run_id, row_hash, app, account_id,
                              user_name, email, external_id, active, last_login_at, attributes)
        SELECT 'app' || a, $now, NULL, 0, md5(i::VARCHAR || '-' || a || '-' || k),
               'app' || a, 'acc' || i || CASE WHEN k = 1 THEN 'b' ELSE '' END,
               CASE WHEN k = 1 THEN 'p' || i || '.alt'
                    WHEN {_h("ghost", 500)} = 0 THEN 'ghost' || i
                    WHEN {_h("ext", 3)} = 0 THEN 'u' || i
                    WHEN i % 50 = 0 THEN ' OLD' || i || '@Example.com'
                    ELSE ' P' || i || '@Example.com ' END,
               CASE WHEN k = 1 THEN 'p' || i || '@example.com' END,
               CASE WHEN k = 0 AND {_h("ghost", 500)} <> 0 AND {_h("ext", 3)} = 0
                    THEN '00u' || i END,
               k = 1 OR NOT ({_h("off", 50)} = 0 OR (i % 10 = 0 AND {_h("left", 8)} <> 0)),
               CASE WHEN {_h("ll", 4)} = 0
                    THEN $now - to_days(CAST({_h("lld", 150)} AS INTEGER)) END,
               CASE WHEN a % 2 = 0 THEN json_object(
                   'display_name', 'Person ' || i,
                   'department', 'dept' || ((i + CASE WHEN {_h("attr", 301)} = 0 THEN 1 ELSE 0 END)
                                            % 40)) END
        FROM range($people) t(i), range($apps) s(a), range(2) d(k)
        WHERE {_HAS} AND (k = 0 OR {_h("dup", 400)} = 0)
        """,
        p,
    )
    con.execute(
        "INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status) "
        "VALUES (0, 'bench', 'bench', 'full', $now, $now, 'ok')",
        {"now": NOW},
    )
    if not full:
        return
    # Movers' previous role: another department.
    run_sql(
        con,
        f"""
        INSERT INTO people (source, valid_from, valid_to, run_id, row_hash, person_id, hire_date,
                            email, display_name, department, title, status, employment_type,
                            effective_at)
        SELECT 'hr', TIMESTAMPTZ '2025-01-01', TIMESTAMPTZ '2026-01-01', 0,
               md5('old' || i), 'E' || i, TIMESTAMPTZ '2020-01-01', 'p' || i || '@example.com',
               'Person ' || i, 'dept' || ((i + 1) % 40), 'title' || (i % 3), 'active',
               'employee', TIMESTAMPTZ '2020-01-01'
        FROM range($people) t(i) WHERE {MOVER}
        """,
        p,
    )
    # Grants. core: the department's entitlement for everyone; movers keep their old
    # department's (a quarter of them); 1 in 400 hold a rare one. Other apps: roles on 2 accounts in 5 (1 in 25
    # an admin role), the pushed group of the owner's department (1 in 97 missing), and for
    # 1 in 1000 three admin groups granted a month ago.
    run_sql(
        con,
        f"""
        INSERT INTO grants (source, valid_from, valid_to, run_id, row_hash, app, account_id,
                            entitlement, entitlement_type, privileged, expires_at)
        SELECT 'app' || a, $now, NULL, 0, md5(e || '-' || i || '-' || a), 'app' || a,
               'acc' || i, e, 'group', e LIKE '%admin%', NULL
        FROM (
            SELECT i, a, unnest(CASE
                WHEN a = 0 THEN list_filter([
                    'dept-' || (i % 40),
                    CASE WHEN {MOVER} AND {KEEPER} THEN 'dept-' || ((i + 1) % 40) END,
                    CASE WHEN {_h("rare", 400)} = 0 THEN 'rare-' || (i % 5) END],
                    lambda x: x IS NOT NULL)
                ELSE list_filter([
                    CASE WHEN {_h("g", 5)} < 2 THEN
                        CASE WHEN {_h("adm", 25)} = 0 THEN 'admin-' || (a % 3)
                             ELSE 'role' || (i % 40) END END,
                    CASE WHEN a % 3 <> 0 AND i % 40 < 4 AND {_h("gm", 97)} <> 0
                         THEN 'group' || (i % 40) END,
                    CASE WHEN a % 3 = 1 AND {_h("pa", 1000)} = 0 THEN 'admin-x' END,
                    CASE WHEN a % 3 = 1 AND {_h("pa", 1000)} = 0 THEN 'admin-y' END,
                    CASE WHEN a % 3 = 1 AND {_h("pa", 1000)} = 0 THEN 'admin-z' END],
                    lambda x: x IS NOT NULL) END) AS e
            {_PAIRS}
        )
        """,
        p,
    )
    # The IdP manages two apps in three: assignments for the accounts' owners (1 in 97 not
    # assigned), and pushes the groups of four departments.
    run_sql(
        con,
        f"""
        INSERT INTO assignments (source, valid_from, valid_to, run_id, row_hash, app,
                                 idp_user_id, user_name, status, scope, assigned_at)
        SELECT 'okta', $now, NULL, 0, md5('s' || i || '-' || a), 'App' || a, '00u' || i,
               'p' || i || '@example.com', 'PROVISIONED', 'USER', TIMESTAMPTZ '2024-01-01'
        {_PAIRS} AND a % 3 <> 0 AND {_h("asg", 97)} <> 0
        """,
        p,
    )
    run_sql(
        con,
        """
        INSERT INTO group_push (source, valid_from, valid_to, run_id, row_hash, app, group_id,
                                target_group_name)
        SELECT 'okta', $now, NULL, 0, md5('p' || a || '-' || d), 'App' || a,
               '00g' || d, 'group' || d
        FROM range($apps) s(a), range(4) g(d)
        WHERE a % 3 <> 0
        """,
        p,
    )
    run_sql(
        con,
        """
        INSERT INTO idp_group_members (source, valid_from, valid_to, run_id, row_hash, group_id,
                                       user_id)
        SELECT 'okta', $now, NULL, 0, md5('m' || i), '00g' || (i % 40), '00u' || i
        FROM range($people) t(i)
        """,
        p,
    )
    # Events, about four per account: three app logins over 120 days; the IdP's assignment
    # (managed apps); a leaver's deactivation, 1 in 10 later than a day after the termination; the grant of
    # each admin entitlement (1-80 days ago) and of the pushed group (an IdP event).
    run_sql(
        con,
        f"""
        INSERT INTO events (event_id, seq, run_id, source, native_id, native_type, occurred_at,
                            ingested_at, action, outcome, person_id, app, account_id,
                            entitlement, inferred, event_hash)
        SELECT md5(i || '-' || a || '-' || k), row_number() OVER (), 0, src, NULL, NULL, t_at,
               $now, action, 'success', person, app, account, ent, false,
               md5('h' || i || '-' || a || '-' || k)
        FROM (
            SELECT i, a, k,
                   CASE WHEN k < 3 OR k >= 5 THEN 'app' || a ELSE 'okta' END AS src,
                   CASE WHEN k < 3 THEN $now - to_hours(CAST(hash(i, a, k) % 2880 AS BIGINT))
                        WHEN k = 3 THEN TIMESTAMPTZ '2024-01-01'
                        WHEN k = 4 THEN {TERMINATED} + to_hours(CAST(
                            CASE WHEN {_h("late", 10)} = 0 THEN 25 + {_h("dl", 48)}
                                 ELSE {_h("dl", 24)} END AS BIGINT))
                        WHEN k = 5 THEN $now - to_days(CAST(1 + {_h("ag", 80)} AS INTEGER))
                        ELSE $now - to_days(30) END AS t_at,
                   CASE WHEN k < 3 THEN 'account.login' WHEN k = 3 THEN 'app.assign'
                        WHEN k = 4 THEN 'account.deactivate' ELSE 'group.member.add' END
                       AS action,
                   CASE WHEN k IN (3, 6) THEN '00u' || i END AS person,
                   CASE WHEN k IN (3, 6) THEN 'App' || a ELSE 'app' || a END AS app,
                   CASE WHEN k NOT IN (3, 6) THEN 'acc' || i END AS account,
                   CASE WHEN k = 5 THEN 'admin-' || (a % 3)
                        WHEN k = 6 THEN 'group' || (i % 40) END AS ent
            FROM range($people) t(i), range($apps) s(a), range(7) e(k)
            WHERE {_HAS}
              AND CASE k WHEN 3 THEN a % 3 <> 0
                         WHEN 4 THEN i % 10 = 0 AND {_h("left", 8)} <> 0
                         WHEN 5 THEN a <> 0 AND {_h("g", 5)} < 2 AND {_h("adm", 25)} = 0
                         WHEN 6 THEN a % 3 <> 0 AND i % 40 < 4
                         ELSE true END
            UNION ALL
            -- the three admin groups of privilege accumulation, granted a month ago
            SELECT i, a, 7 + x, 'app' || a, $now - to_days(30), 'group.member.add', NULL,
                   'app' || a, 'acc' || i, 'admin-' || chr(CAST(120 + x AS INTEGER))
            FROM range($people) t(i), range($apps) s(a), range(3) y(x)
            WHERE {_HAS} AND a % 3 = 1 AND {_h("pa", 1000)} = 0
        )
        """,
        p,
    )
    _seal_run(con, 0)


def _seal_run(con, run_id: int) -> None:  # noqa: ANN001
    """Give the run's events their real content hashes, and the run its digest and chain hash,
    as a sync would have (append_events.sql, close_run.sql): the reports' log-integrity test
    then recomputes a chain that holds, at its real cost."""
    from evidence.store.digests import recompute_digests

    rehash = (
        "sha256(json_object('event_id', event_id, 'source', source, 'native_type', "
        "native_type, 'occurred_at', strftime(timezone('UTC', occurred_at), "
        "'%Y-%m-%dT%H:%M:%S.%fZ'), 'action', action, 'outcome', outcome, 'actor', actor, "
        "'person_id', person_id, 'app', app, 'account_id', account_id, 'entitlement', "
        "entitlement, 'details', details, 'raw', raw))"
    )
    con.execute(f"UPDATE events SET event_hash = {rehash} WHERE run_id = $r", {"r": run_id})
    (events, _, digest) = recompute_digests(con, run_id, run_id, stored=True).runs[run_id]
    head = con.execute(
        "SELECT chain_hash FROM sync_runs WHERE chain_hash IS NOT NULL AND run_id < $r "
        "ORDER BY run_id DESC LIMIT 1",
        {"r": run_id},
    ).fetchall()
    con.execute(
        "UPDATE sync_runs SET digest = $d, chain_hash = sha256($h || $d) WHERE run_id = $r",
        {"d": digest, "h": head[0][0] if head else "", "r": run_id},
    )


def bench_policy(apps: int):  # noqa: ANN201
    from evidence.config import Policy

    return Policy.model_validate(
        {
            "sod": [
                {
                    "name": "rare-with-dept",
                    "a": {"app": "app0", "entitlement": "rare-1"},
                    "b": {"app": "app0", "entitlement": "dept-1"},
                }
            ],
            "time_bound": [
                {"app": f"app{a}", "entitlement": "admin-0", "max_days": 7}
                for a in range(3, apps, 3)
            ],
        }
    )


# The same questions as bare DuckDB queries: an owner join, then one anti-join or aggregate per
# finding subkind, counts only: no explanations, evidence, upsert or events. They rely on how
# this tenant is built (one HR record per person, identifiers as above); on it they must count
# exactly what the detections find, which the benchmark checks.
_JUDGED = (
    "o.person_id IS NOT NULL AND NOT coalesce(o.status = 'terminated' "
    "AND o.term + INTERVAL 24 HOUR < $now, false)"
)
BARE_QUERIES: dict[str, str] = {
    "_owner": """
        CREATE OR REPLACE TEMP TABLE b_owner AS
        WITH hr AS (SELECT * FROM people WHERE valid_to IS NULL),
        keys AS (SELECT lower(trim(email)) AS k, person_id, 1 AS r FROM hr
                 UNION ALL
                 SELECT lower(trim(aliases)), person_id, 2 FROM hr WHERE aliases IS NOT NULL)
        SELECT a.app, lower(a.app) AS app_key, a.account_id, a.user_name, a.email, a.active,
               a.last_login_at, a.attributes, p.person_id, p.status,
               p.termination_date AS term, p.department, p.title, p.display_name,
               p.email AS hr_email
        FROM (
            -- Current accounts, and removed ones (inactive, last version): a late removal
            -- is late deprovisioning too.
            SELECT * FROM accounts WHERE valid_to IS NULL
            UNION ALL
            SELECT * REPLACE (false AS active) FROM accounts x
            WHERE valid_to IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM accounts c WHERE c.valid_to IS NULL
                              AND c.app = x.app AND c.account_id = x.account_id)
            QUALIFY row_number() OVER (PARTITION BY app, account_id ORDER BY valid_to DESC) = 1
        ) a
        LEFT JOIN idp_users i ON i.user_id = a.external_id AND i.valid_to IS NULL
        LEFT JOIN keys e ON e.k = lower(trim(coalesce(a.email, a.user_name)))
        LEFT JOIN hr p ON p.person_id = coalesce(i.employee_number, e.person_id)""",
    "_desired": """
        CREATE OR REPLACE TEMP TABLE b_desired AS
        SELECT lower(s.app) AS app_key, i.employee_number AS person_id, s.assigned_at
        FROM assignments s JOIN idp_users i ON i.user_id = s.idp_user_id AND i.valid_to IS NULL
        WHERE s.valid_to IS NULL AND i.status <> 'DEPROVISIONED'""",
    "orphan/terminated_active": """
        SELECT count(*) FROM b_owner o
        WHERE o.active AND o.status = 'terminated' AND o.term + INTERVAL 24 HOUR < $now""",
    "orphan/unmatched": "SELECT count(*) FROM b_owner o WHERE o.active AND o.person_id IS NULL",
    "duplicate/multiple_accounts": f"""
        SELECT coalesce(sum(n), 0) FROM (
            SELECT count(*) AS n FROM b_owner o WHERE o.active AND {_JUDGED}
            GROUP BY o.app, o.person_id HAVING count(*) > 1)""",
    "dormant/no_login": f"""
        SELECT count(*) FROM b_owner o
        LEFT JOIN (SELECT app, account_id, max(occurred_at) AS t FROM events
                   WHERE action = 'account.login' GROUP BY ALL) e USING (app, account_id)
        WHERE o.active AND {_JUDGED} AND o.status <> 'leave'
          AND greatest(o.last_login_at, e.t) < $now - INTERVAL 90 DAY""",
    "drift/missing_account": """
        SELECT count(*) FROM b_desired d
        WHERE d.assigned_at + INTERVAL 24 HOUR < $now
          AND NOT EXISTS (SELECT 1 FROM b_owner o WHERE o.app_key = d.app_key
                          AND o.person_id = d.person_id AND o.active)""",
    "drift/unassigned_account": f"""
        SELECT count(*) FROM b_owner o
        WHERE o.active AND {_JUDGED}
          AND o.app_key IN (SELECT app_key FROM b_desired)
          AND NOT EXISTS (SELECT 1 FROM b_desired d WHERE d.app_key = o.app_key
                          AND d.person_id = o.person_id)""",
    "drift/attribute_mismatch": f"""
        SELECT count(*) FROM b_owner o
        WHERE o.active AND {_JUDGED}
          AND EXISTS (SELECT 1 FROM b_desired d WHERE d.app_key = o.app_key
                      AND d.person_id = o.person_id)
          AND (lower(json_extract_string(o.attributes, '$.department')) <> lower(o.department)
               OR lower(json_extract_string(o.attributes, '$.display_name'))
                  <> lower(o.display_name)
               OR lower(trim(o.email)) <> lower(o.hr_email))""",
    "drift/group_mismatch": f"""
        WITH pushed AS (SELECT DISTINCT lower(app) AS app_key, group_id, target_group_name
                        FROM group_push WHERE valid_to IS NULL),
        app_side AS (
            SELECT o.app, o.account_id, p.target_group_name FROM b_owner o
            JOIN grants g ON g.app = o.app AND g.account_id = o.account_id AND g.valid_to IS NULL
            JOIN pushed p ON p.app_key = o.app_key AND p.target_group_name = g.entitlement
            WHERE o.active AND {_JUDGED}),
        idp_side AS (
            SELECT o.app, o.account_id, p.target_group_name FROM b_owner o
            JOIN pushed p ON p.app_key = o.app_key
            JOIN idp_group_members m ON m.group_id = p.group_id AND m.valid_to IS NULL
            JOIN idp_users i ON i.user_id = m.user_id AND i.employee_number = o.person_id
            WHERE o.active AND {_JUDGED})
        SELECT count(*) FROM (
            (SELECT * FROM app_side EXCEPT SELECT * FROM idp_side)
            UNION ALL (SELECT * FROM idp_side EXCEPT SELECT * FROM app_side))""",
    "sod/toxic_combination": """
        SELECT count(*) FROM (
            SELECT o.person_id FROM b_owner o
            JOIN grants g ON g.app = o.app AND g.account_id = o.account_id AND g.valid_to IS NULL
            WHERE o.active AND o.person_id IS NOT NULL AND o.app = 'app0'
            GROUP BY 1
            HAVING bool_or(g.entitlement = 'rare-1') AND bool_or(g.entitlement = 'dept-1'))""",
    "_creep": """
        CREATE OR REPLACE TEMP TABLE b_creep AS
        WITH held AS (
            SELECT o.app, o.account_id, o.person_id, o.status, o.department, o.title,
                   g.entitlement, g.expires_at, e.t AS granted_at
            FROM b_owner o
            JOIN grants g ON g.app = o.app AND g.account_id = o.account_id AND g.valid_to IS NULL
            LEFT JOIN (SELECT app, account_id, entitlement, max(occurred_at) AS t FROM events
                       WHERE action = 'group.member.add' AND account_id IS NOT NULL
                       GROUP BY ALL) e
              ON e.app = g.app AND e.account_id = g.account_id AND e.entitlement = g.entitlement
            WHERE o.active),
        peers AS (SELECT department, title, count(*) AS n FROM people
                  WHERE valid_to IS NULL AND status = 'active' GROUP BY ALL),
        holds AS (SELECT department, title, app, entitlement, count(DISTINCT person_id) AS k
                  FROM held WHERE status = 'active' GROUP BY ALL),
        moves AS (SELECT b.person_id, arg_max(a.department, a.valid_to) AS old_department,
                         arg_max(a.title, a.valid_to) AS old_title
                  FROM people a JOIN people b ON b.person_id = a.person_id
                   AND a.valid_to <= b.valid_from
                  WHERE b.valid_to IS NULL
                    AND (a.department <> b.department OR a.title <> b.title)
                    AND b.effective_at < $now - INTERVAL 30 DAY
                  GROUP BY b.person_id)
        SELECT h.*,
               coalesce(2 * k0.k >= n0.n
                        AND (coalesce(n1.n, 0) = 0 OR 100 * coalesce(k1.k, 0) < 5 * n1.n),
                        false) AS is_mover,
               coalesce(h.entitlement = 'admin-0' AND h.app <> 'app0'
                        AND h.granted_at < $now - INTERVAL 7 DAY, false)
                   AS is_expired,
               coalesce(h.status = 'active' AND n1.n >= 10
                        AND 100 * coalesce(k1.k, 0) < 5 * n1.n, false) AS is_outlier
        FROM held h
        LEFT JOIN peers n1 ON n1.department = h.department AND n1.title = h.title
        LEFT JOIN holds k1 ON k1.department = h.department AND k1.title = h.title
                          AND k1.app = h.app AND k1.entitlement = h.entitlement
        LEFT JOIN moves m ON m.person_id = h.person_id
        LEFT JOIN peers n0 ON n0.department = m.old_department AND n0.title = m.old_title
        LEFT JOIN holds k0 ON k0.department = m.old_department AND k0.title = m.old_title
                          AND k0.app = h.app AND k0.entitlement = h.entitlement""",
    "creep/mover_residual": "SELECT count(*) FROM b_creep WHERE is_mover",
    "creep/expired_grant": "SELECT count(*) FROM b_creep WHERE is_expired AND NOT is_mover",
    "creep/peer_outlier": """
        SELECT count(*) FROM b_creep WHERE is_outlier AND NOT is_mover AND NOT is_expired""",
    "creep/privilege_accumulation": """
        SELECT count(*) FROM (
            SELECT app, account_id FROM b_creep
            WHERE entitlement LIKE '%admin%' AND granted_at >= $now - INTERVAL 90 DAY
            GROUP BY ALL HAVING count(*) > 2)""",
    "sla/deprovision_late": """
        SELECT count(*) FROM b_owner o
        JOIN (SELECT app, account_id, min(occurred_at) AS t FROM events
              WHERE action IN ('account.deactivate', 'account.delete', 'app.unassign')
              GROUP BY ALL) e USING (app, account_id)
        WHERE o.status = 'terminated' AND e.t > o.term + INTERVAL 24 HOUR""",
}


def apply_delta(con, share: int = 50, step: int = 1) -> datetime:  # noqa: ANN001
    """A later sync that changed part of the tenant, as load.py writes one (a run id from the
    sequence, versions closed at its as_of and opened there): 1 in `share` current accounts
    changed at the sync: a tenth of them left the app's listing, a tenth report a new user name
    and email (keys the matcher reads), the rest a new login, each with the account.delete or
    account.update event load.py infers; 1 in `share` people have a new manager.
    `step` numbers the sync (each picks other rows, one second later). Returns the as_of."""
    as_of = NOW + timedelta(seconds=step)
    run_id = int(con.execute("SELECT nextval('run_id_seq')").fetchall()[0][0])
    p = {"as_of": as_of, "run": run_id, "share": share, "salt": f"d{step}"}
    run_sql(
        con,
        """
        CREATE OR REPLACE TEMP TABLE _d_acc AS
        -- The change kind from the selecting hash's next digits (a second hash of the same
        -- key came out correlated with the first).
        SELECT *, (hash(app, account_id, $salt) // $share) % 10 AS change FROM accounts
        WHERE valid_to IS NULL AND hash(app, account_id, $salt) % $share = 0;
        UPDATE accounts a SET valid_to = $as_of FROM _d_acc d
        WHERE a.valid_to IS NULL AND a.source = d.source AND a.app = d.app
          AND a.account_id = d.account_id;
        INSERT INTO accounts
        SELECT * EXCLUDE (change) REPLACE (
            $as_of AS valid_from, NULL AS valid_to, $run AS run_id,
            md5(row_hash || $salt) AS row_hash,
            CASE WHEN change = 1 THEN 'renamed.' || user_name ELSE user_name END AS user_name,
            CASE WHEN change = 1 THEN 'renamed.' || email ELSE email END AS email,
            CASE WHEN change = 1 THEN last_login_at ELSE $as_of END AS last_login_at)
        FROM _d_acc WHERE change <> 0;
        -- The events load.py infers from the two listings (infer_accounts.sql): a removed
        -- account's account.delete, every other change an account.update.
        INSERT INTO events (event_id, seq, run_id, source, native_type, occurred_at, ingested_at,
            action, outcome, app, account_id, details, inferred, raw, event_hash)
        SELECT sha256(concat_ws('|', 'inferred', 'accounts', app, account_id, $salt)),
               (SELECT max(seq) FROM events) + row_number() OVER (ORDER BY app, account_id),
               $run, source, 'snapshot:accounts', $as_of, $as_of,
               CASE WHEN change = 0 THEN 'account.delete' ELSE 'account.update' END, 'success',
               app, account_id, json_object('inferred_from', 'snapshot difference'), true,
               json_object('before', json_object('user_name', user_name)),
               sha256(concat_ws('|', 'hash', app, account_id, $salt))
        FROM _d_acc;
        CREATE OR REPLACE TEMP TABLE _d_people AS
        SELECT * FROM people WHERE valid_to IS NULL AND hash(person_id, $salt) % $share = 0;
        UPDATE people x SET valid_to = $as_of FROM _d_people d
        WHERE x.valid_to IS NULL AND x.source = d.source AND x.person_id = d.person_id
          AND x.hire_date IS NOT DISTINCT FROM d.hire_date;
        INSERT INTO people
        SELECT * REPLACE ($as_of AS valid_from, NULL AS valid_to, $run AS run_id,
                          md5(row_hash || $salt) AS row_hash, 'M' || person_id AS manager_id)
        FROM _d_people;
        INSERT INTO sync_runs (run_id, source, kind, mode, started_at, as_of, status)
        VALUES ($run, 'bench', 'bench', 'full', $as_of, $as_of, 'ok')
        """,
        p,
    )
    return as_of


def bare_counts(con, now: datetime = NOW) -> dict[str, int]:  # noqa: ANN001
    out: dict[str, int] = {}
    for name, sql in BARE_QUERIES.items():
        rows = con.execute(sql, {"now": now} if "$now" in sql else {}).fetchall()
        if not name.startswith("_"):
            out[name] = int(rows[0][0])
    return out
