"""Identity matching: the owner of every app account (see matching.sql for the rules).

The result persists in `account_facts` (account_owners is its view). A detect re-matches only
the accounts whose inputs changed since the last one (matching_dirty.sql), or all of them when
the rules changed (a new fingerprint) or none were matched yet: on a store that a sync changed
a little, matching costs about the change, not the tenant. An account whose new version kept
its keys (a login, an attribute) only has its facts copied (matching_facts.sql).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from evidence.config import Policy
from evidence.sql import load_sql, run_sql

__all__ = ["build_account_owners", "build_links"]

_RULES = (
    "matching_idp.sql",
    "matching.sql",
    "matching_all.sql",
    "matching_dirty.sql",
    "matching_facts.sql",
)


def _sql(name: str) -> str:
    return load_sql("evidence.matching", f"sql/{name}")


def build_account_owners(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    run_id: int,
    *,
    full: bool = False,
) -> int:
    """Bring `idp_user_owners` and `account_facts` up to date for detect run `run_id` (inside the
    caller's transaction); return the number of accounts re-matched. `full` re-matches all."""
    svc = pa.Table.from_pylist(
        [{"app": s.app, "pattern": s.account, "owner": s.owner} for s in policy.service_accounts],
        schema=pa.schema([("app", pa.string()), ("pattern", pa.string()), ("owner", pa.string())]),
    )
    con.register("_svc_in", svc)
    con.execute("CREATE OR REPLACE TEMP TABLE _service_accounts AS SELECT * FROM _svc_in")
    con.unregister("_svc_in")
    con.execute(_sql("matching_idp.sql"))
    _replace_changed(con, "idp_user_owners", "_idp_owners_new", ("user_id",), "_idp_changed")

    fingerprint = hashlib.sha256(
        "\0".join([*(_sql(n) for n in _RULES), json.dumps(svc.to_pylist())]).encode()
    ).hexdigest()
    state = con.execute(
        "SELECT run_id, fingerprint FROM match_state WHERE name = 'accounts'"
    ).fetchall()
    # matching.sql inserts straight into account_facts (a temp copy of 5M wide rows was most
    # of a first match's write cost), for the account versions of _match_rows.
    if full or not state or state[0][1] != fingerprint:
        con.execute("DELETE FROM account_facts")
        con.execute(_sql("matching_all.sql"))
    else:
        run_sql(con, _sql("matching_dirty.sql"), {"w": state[0][0]})
        con.execute(_sql("matching_facts.sql"))
        con.execute(
            "DELETE FROM account_facts f USING _match_scope s "
            "WHERE f.app = s.app AND f.account_id = s.account_id"
        )
    matched = int(con.execute(_sql("matching.sql")).fetchall()[0][0])
    con.execute(
        "INSERT OR REPLACE INTO match_state VALUES ('accounts', $r, $f, $t)",
        {"r": run_id, "f": fingerprint, "t": datetime.now(UTC)},
    )
    return matched


def build_links(con: duckdb.DuckDBPyConnection) -> None:
    """The temp tables `_account_idp` (the IdP users each current account stands for),
    `_app_names`, `_desired_assignments` and `_assigned_accounts`, from account_facts."""
    run_sql(con, _sql("matching_links.sql"), {})


def _replace_changed(
    con: duckdb.DuckDBPyConnection, table: str, new: str, key: tuple[str, ...], changed: str
) -> None:
    """Make `table` equal to `new` by rewriting only the rows that differ, and list their keys
    in the temp table `changed`: a re-run over unchanged data writes nothing."""
    on = " AND ".join(f"t.{k} = d.{k}" for k in key)
    cols = ", ".join(key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _stale AS SELECT * FROM {table} EXCEPT SELECT * FROM {new}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _fresh AS SELECT * FROM {new} EXCEPT SELECT * FROM {table}"
    )
    con.execute(f"DELETE FROM {table} t USING _stale d WHERE {on}")
    con.execute(f"INSERT INTO {table} SELECT * FROM _fresh")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {changed} AS "
        f"SELECT {cols} FROM _stale UNION SELECT {cols} FROM _fresh"
    )
