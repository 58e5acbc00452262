"""A whole tenant straight into a store with set operations, for the detection benchmarks.

At `people` x `apps` it holds about people*apps/6 accounts (5M at 100k x 300), 0.4 grants per
account, the IdP's assignments and pushed groups for two apps in three, moved people, and
four events per account (20M at enterprise scale). Deterministic: every value is a function of
the row numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 11, 1, tzinfo=UTC)

# (i, a) holds an account when this is true: one pair in six.
_HAS = "(i * 7 + a * 13) % 6 = 0"


def _run(con, sql: str, params: dict) -> None:  # noqa: ANN001
    """DuckDB refuses parameters a statement does not name: pass only the used ones."""
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def build_tenant(con, people: int, apps: int, *, full: bool = True) -> None:  # noqa: ANN001
    p = {"people": people, "apps": apps, "now": NOW}
    _run(
        con,
        """
        INSERT INTO people (source, valid_from, valid_to, run_id, row_hash, person_id, hire_date,
                            email, aliases, display_name, department, title, status,
                            termination_date, employment_type, effective_at)
        SELECT 'hr', TIMESTAMPTZ '2026-01-01', NULL, 1, md5(i::VARCHAR), 'E' || i,
               TIMESTAMPTZ '2020-01-01', 'p' || i || '@example.com',
               CASE WHEN i % 50 = 0 THEN 'old' || i || '@example.com' END,
               'Person ' || i, 'dept' || (i % 40), 'title' || (i % 7),
               CASE WHEN i % 10 = 0 THEN 'terminated' WHEN i % 97 = 0 THEN 'leave'
                    ELSE 'active' END,
               CASE WHEN i % 10 = 0 THEN TIMESTAMPTZ '2026-06-01' END, 'employee',
               TIMESTAMPTZ '2020-01-01'
        FROM range($people) t(i)
        """,
        p,
    )
    _run(
        con,
        """
        INSERT INTO idp_users (source, valid_from, valid_to, run_id, row_hash, user_id, login,
                               email, employee_number, display_name, department, title, status)
        SELECT 'okta', $now, NULL, 1, md5(i::VARCHAR), '00u' || i, 'p' || i || '@example.com',
               'p' || i || '@example.com', 'E' || i, 'Person ' || i, 'dept' || (i % 40),
               'title' || (i % 7),
               CASE WHEN i % 10 = 0 THEN 'DEPROVISIONED' ELSE 'ACTIVE' END
        FROM range($people) t(i)
        """,
        p,
    )
    # 1 in 200 accounts match nobody, 1 in 3 link only by externalId, the rest by a
    # mixed-case email.
    _run(
        con,
        f"""
        INSERT INTO accounts (source, valid_from, valid_to, run_id, row_hash, app, account_id,
                              user_name, email, external_id, active, last_login_at, attributes)
        SELECT 'app' || a, $now, NULL, 1, md5(i::VARCHAR || '-' || a), 'app' || a, 'acc' || i,
               CASE WHEN (i + a) % 200 = 0 THEN 'ghost' || i
                    WHEN (i + a) % 3 = 0 THEN 'u' || i
                    WHEN i % 50 = 0 THEN ' OLD' || i || '@Example.com'
                    ELSE ' P' || i || '@Example.com ' END,
               NULL,
               CASE WHEN (i + a) % 3 = 0 AND (i + a) % 200 <> 0 THEN '00u' || i END,
               -- 1 in 50 inactive; a leaver's accounts are mostly (7 in 8) deactivated.
               NOT ((i + a) % 50 = 0 OR (i % 10 = 0 AND (i + a) % 8 <> 0)),
               CASE WHEN (i + a) % 4 = 0 THEN $now - to_days(CAST((i + a) % 100 AS INTEGER)) END,
               CASE WHEN a % 2 = 0 THEN json_object(
                   'display_name', 'Person ' || i,
                   'department', 'dept' || ((i + CASE WHEN (i + a) % 301 = 0 THEN 1 ELSE 0 END)
                                            % 40)) END
        FROM range($people) t(i), range($apps) s(a)
        WHERE {_HAS}
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
    # A tenth of the people moved on 2026-06-01: an older version in another department.
    _run(
        con,
        """
        INSERT INTO people (source, valid_from, valid_to, run_id, row_hash, person_id, hire_date,
                            email, display_name, department, title, status, employment_type,
                            effective_at)
        SELECT 'hr', TIMESTAMPTZ '2025-01-01', TIMESTAMPTZ '2026-01-01', 1,
               md5('old' || i), 'E' || i, TIMESTAMPTZ '2020-01-01', 'p' || i || '@example.com',
               'Person ' || i, 'dept' || ((i + 1) % 40), 'title' || (i % 7), 'active',
               'employee', TIMESTAMPTZ '2020-01-01'
        FROM range($people) t(i) WHERE i % 10 = 3
        """,
        p,
    )
    con.execute(
        "UPDATE people SET effective_at = TIMESTAMPTZ '2026-06-01' "
        "WHERE valid_to IS NULL AND CAST(substr(person_id, 2) AS BIGINT) % 10 = 3"
    )
    # Grants: 0.4 roles per account (one in 25 privileged), plus the pushed group of the
    # account owner's department where the IdP pushes it (one in 97 missing).
    _run(
        con,
        f"""
        INSERT INTO grants (source, valid_from, valid_to, run_id, row_hash, app, account_id,
                            entitlement, entitlement_type, privileged, expires_at)
        SELECT 'app' || a, $now, NULL, 1, md5('g' || i || '-' || a), 'app' || a, 'acc' || i,
               CASE WHEN (i + a) % 25 = 0 THEN 'admin-' || (a % 3)
                    ELSE 'role' || ((i % 40) + (i + a) % 3) END,
               'role', (i + a) % 25 = 0, NULL
        FROM range($people) t(i), range($apps) s(a)
        WHERE {_HAS} AND (i + a) % 5 < 2
        UNION ALL
        SELECT 'app' || a, $now, NULL, 1, md5('p' || i || '-' || a), 'app' || a, 'acc' || i,
               'group' || (i % 40), 'group', false, NULL
        FROM range($people) t(i), range($apps) s(a)
        WHERE {_HAS} AND a % 3 <> 0 AND i % 40 < 4 AND (i + a) % 97 <> 0
        """,
        p,
    )
    # The IdP manages two apps in three: assignments for the accounts' owners, and pushes the
    # groups of four departments.
    _run(
        con,
        f"""
        INSERT INTO assignments (source, valid_from, valid_to, run_id, row_hash, app,
                                 idp_user_id, user_name, status, scope, assigned_at)
        SELECT 'okta', $now, NULL, 1, md5('s' || i || '-' || a), 'App' || a, '00u' || i,
               'p' || i || '@example.com', 'PROVISIONED', 'USER', TIMESTAMPTZ '2024-01-01'
        FROM range($people) t(i), range($apps) s(a)
        WHERE {_HAS} AND a % 3 <> 0 AND (i + a) % 97 <> 0
        """,
        p,
    )
    _run(
        con,
        """
        INSERT INTO group_push (source, valid_from, valid_to, run_id, row_hash, app, group_id,
                                target_group_name)
        SELECT 'okta', $now, NULL, 1, md5('p' || a || '-' || d), 'App' || a,
               '00g' || d, 'group' || d
        FROM range($apps) s(a), range(4) g(d)
        WHERE a % 3 <> 0
        """,
        p,
    )
    _run(
        con,
        """
        INSERT INTO idp_group_members (source, valid_from, valid_to, run_id, row_hash, group_id,
                                       user_id)
        SELECT 'okta', $now, NULL, 1, md5('m' || i), '00g' || (i % 40), '00u' || i
        FROM range($people) t(i)
        """,
        p,
    )
    # Four events per account: two logins, an assignment and a group push.
    _run(
        con,
        f"""
        INSERT INTO events (event_id, seq, run_id, source, native_id, native_type, occurred_at,
                            ingested_at, action, outcome, person_id, app, account_id,
                            entitlement, inferred, event_hash)
        SELECT md5(i || '-' || a || '-' || k), row_number() OVER (), 1,
               CASE WHEN k < 2 THEN 'app' || a ELSE 'okta' END, NULL, NULL,
               -- logins within the last 60 days, the IdP's events over the year
               $now - to_hours(CAST((i * 31 + a * 17 + k * 1000)
                                    % CASE WHEN k < 2 THEN 1440 ELSE 8760 END AS BIGINT)), $now,
               CASE k WHEN 0 THEN 'account.login' WHEN 1 THEN 'account.login'
                      WHEN 2 THEN 'app.assign' ELSE 'group.member.add' END,
               'success',
               CASE WHEN k >= 2 THEN '00u' || i END,
               CASE WHEN k < 2 THEN 'app' || a ELSE 'App' || a END,
               CASE WHEN k < 2 THEN 'acc' || i END,
               CASE WHEN k = 3 THEN 'group' || (i % 40) END,
               false, md5('h' || i || '-' || a || '-' || k)
        FROM range($people) t(i), range($apps) s(a), range(4) e(k)
        WHERE {_HAS}
        """,
        p,
    )


# The same questions as bare DuckDB queries: a simple owner join, then one anti-join or
# aggregate per finding subkind, counts only (no explanations, evidence, upsert or events).
BARE_QUERIES: dict[str, str] = {
    "_owner": """
        CREATE OR REPLACE TEMP TABLE b_owner AS
        SELECT a.app, a.account_id, a.active, a.last_login_at, a.attributes,
               coalesce(p1.person_id, p2.person_id) AS person_id,
               coalesce(p1.status, p2.status) AS status,
               coalesce(p1.termination_date, p2.termination_date) AS term
        FROM accounts a
        LEFT JOIN idp_users i ON i.user_id = a.external_id AND i.valid_to IS NULL
        LEFT JOIN people p1 ON p1.person_id = i.employee_number AND p1.valid_to IS NULL
        LEFT JOIN (SELECT lower(trim(email)) AS k, * FROM people WHERE valid_to IS NULL) p2
          ON p2.k = lower(trim(a.user_name))
        WHERE a.valid_to IS NULL""",
    "orphan/terminated_active": """
        SELECT count(*) FROM b_owner
        WHERE active AND status = 'terminated' AND term + INTERVAL 24 HOUR < $now""",
    "orphan/unmatched": "SELECT count(*) FROM b_owner WHERE active AND person_id IS NULL",
    "drift/missing_account": """
        SELECT count(*) FROM assignments s
        LEFT JOIN accounts a ON lower(a.app) = lower(s.app) AND a.external_id = s.idp_user_id
                            AND a.valid_to IS NULL AND a.active
        WHERE s.valid_to IS NULL AND a.account_id IS NULL""",
    "drift/unassigned_account": """
        SELECT count(*) FROM b_owner o
        LEFT JOIN assignments s ON lower(s.app) = lower(o.app) AND s.idp_user_id = '00u' ||
             substr(o.person_id, 2) AND s.valid_to IS NULL
        WHERE o.active AND s.app IS NULL""",
    "drift/attribute_mismatch": """
        SELECT count(*) FROM b_owner o JOIN people p ON p.person_id = o.person_id
         AND p.valid_to IS NULL
        WHERE o.active AND json_extract_string(o.attributes, '$.department') <> p.department""",
    "drift/group_mismatch": """
        SELECT count(*) FROM (
            SELECT g.app, g.account_id, g.entitlement FROM grants g
            JOIN group_push p ON lower(p.app) = lower(g.app) AND p.target_group_name = g.entitlement
            WHERE g.valid_to IS NULL
            EXCEPT
            SELECT o.app, o.account_id, p.target_group_name FROM b_owner o
            JOIN group_push p ON lower(p.app) = lower(o.app)
            JOIN idp_group_members m ON m.group_id = p.group_id
             AND m.user_id = '00u' || substr(o.person_id, 2))""",
    "dormant/no_login": """
        SELECT count(*) FROM b_owner o
        LEFT JOIN (SELECT app, account_id, max(occurred_at) AS t FROM events
                   WHERE action = 'account.login' GROUP BY ALL) e USING (app, account_id)
        WHERE o.active AND greatest(o.last_login_at, e.t) < $now - INTERVAL 90 DAY""",
    "duplicate/multiple_accounts": """
        SELECT count(*) FROM (SELECT app, person_id FROM b_owner WHERE active
                              AND person_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1)""",
    "creep/peer_outlier": """
        WITH h AS (SELECT p.department, p.title, g.app, g.entitlement, o.person_id
                   FROM grants g JOIN b_owner o USING (app, account_id)
                   JOIN people p ON p.person_id = o.person_id AND p.valid_to IS NULL
                   WHERE g.valid_to IS NULL AND o.active AND p.status = 'active'),
             n AS (SELECT department, title, count(*) AS n FROM people
                   WHERE valid_to IS NULL AND status = 'active' GROUP BY ALL)
        SELECT count(*) FROM (SELECT department, title, app, entitlement,
                                     count(DISTINCT person_id) AS k FROM h GROUP BY ALL) x
        JOIN n USING (department, title) WHERE n.n >= 10 AND x.k < 0.05 * n.n""",
    "creep/mover_residual": """
        SELECT count(*) FROM people a JOIN people b
          ON b.person_id = a.person_id AND b.valid_from = a.valid_to
        WHERE b.valid_to IS NULL AND (a.department <> b.department OR a.title <> b.title)
          AND b.effective_at < $now - INTERVAL 30 DAY""",
    "creep/expired_grant": """
        SELECT count(*) FROM grants g
        JOIN (SELECT app, account_id, entitlement, min(occurred_at) AS t FROM events
              WHERE action = 'group.member.add' GROUP BY ALL) e USING (app, account_id)
        WHERE g.valid_to IS NULL AND g.entitlement = 'admin-0' AND e.t < $now - INTERVAL 7 DAY""",
    "creep/privilege_accumulation": """
        SELECT count(*) FROM (SELECT app, account_id FROM grants
                              WHERE valid_to IS NULL AND lower(entitlement) LIKE '%admin%'
                              GROUP BY ALL HAVING count(*) > 2)""",
    "sla/deprovision_late": """
        SELECT count(*) FROM b_owner o
        JOIN (SELECT app, account_id, min(occurred_at) AS t FROM events
              WHERE action IN ('account.deactivate', 'account.delete', 'app.unassign')
              GROUP BY ALL) e USING (app, account_id)
        WHERE o.status = 'terminated' AND e.t > o.term + INTERVAL 24 HOUR""",
    "sod/toxic_combination": """
        SELECT count(*) FROM (SELECT DISTINCT a.person_id FROM b_owner a
            JOIN grants g1 ON g1.app = a.app AND g1.account_id = a.account_id
            JOIN b_owner b ON b.person_id = a.person_id
            JOIN grants g2 ON g2.app = b.app AND g2.account_id = b.account_id
            WHERE g1.valid_to IS NULL AND g2.valid_to IS NULL AND a.active AND b.active
              AND g1.app = 'app1' AND g1.entitlement = 'admin-1'
              AND g2.app = 'app2' AND g2.entitlement = 'admin-2')""",
}


def bare_counts(con, now: datetime = NOW) -> dict[str, int]:  # noqa: ANN001
    out: dict[str, int] = {}
    for name, sql in BARE_QUERIES.items():
        params = {"now": now} if "$now" in sql else {}
        rows = con.execute(sql, params).fetchall()
        if not name.startswith("_"):
            out[name] = int(rows[0][0])
    return out


def bench_policy():  # noqa: ANN201
    from evidence.config import Policy

    return Policy.model_validate(
        {
            "sod": [{"name": "admins", "a": {"app": "app1", "entitlement": "admin-1"},
                     "b": {"app": "app2", "entitlement": "admin-2"}}],
            "time_bound": [{"app": f"app{a}", "entitlement": "admin-0", "max_days": 7}
                           for a in range(0, 300, 3)],
        }
    )
