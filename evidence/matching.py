"""Identity matching: the owner of every current app account (see matching.sql for the rules)."""

from __future__ import annotations

from importlib import resources

import duckdb
import pyarrow as pa

from evidence.config import Policy
from evidence.store.load import run_sql

__all__ = ["OWNER_COLUMNS", "build_account_owners"]

# account_owners' columns, in table order.
OWNER_COLUMNS = (
    "app", "account_id", "user_name", "active", "person_id", "person_kind", "matched_by",
    "person_status", "termination_at", "service_account", "is_current",
)


def _sql(name: str) -> str:
    return resources.files("evidence").joinpath(name).read_text(encoding="utf-8")


def build_account_owners(con: duckdb.DuckDBPyConnection, policy: Policy) -> int:
    """Rebuild `idp_user_owners` and `account_owners`, and the temp tables `_account_facts`
    (account_owners with each account's own facts), `_account_idp` (the IdP users each current
    account stands for), `_app_names`, `_desired_assignments` and `_assigned_accounts`; return
    the number of accounts."""
    svc = pa.Table.from_pylist(
        [{"app": s.app, "pattern": s.account, "owner": s.owner} for s in policy.service_accounts],
        schema=pa.schema([("app", pa.string()), ("pattern", pa.string()), ("owner", pa.string())]),
    )
    con.register("_svc_in", svc)
    con.execute("CREATE OR REPLACE TEMP TABLE _service_accounts AS SELECT * FROM _svc_in")
    con.unregister("_svc_in")
    con.execute(_sql("matching_idp.sql"))
    _replace_changed(con, "idp_user_owners", "_idp_owners_new", ("user_id",))
    con.execute(_sql("matching.sql"))
    cols = ", ".join(OWNER_COLUMNS)
    _replace_changed(
        con, "account_owners", f"(SELECT {cols} FROM _account_facts)", ("app", "account_id")
    )
    run_sql(con, _sql("matching_links.sql"), {})
    return int(con.execute("SELECT count(*) FROM account_owners").fetchall()[0][0])


def _replace_changed(
    con: duckdb.DuckDBPyConnection, table: str, new: str, key: tuple[str, ...]
) -> None:
    """Make `table` equal to `new` by rewriting only the rows that differ: a re-run over
    unchanged data writes nothing (rewriting millions of keyed rows each run was most of the
    matcher's time)."""
    on = " AND ".join(f"t.{k} = d.{k}" for k in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _stale AS SELECT * FROM {table} EXCEPT SELECT * FROM {new}"
    )
    con.execute(f"DELETE FROM {table} t USING _stale d WHERE {on}")
    con.execute(f"INSERT INTO {table} SELECT * FROM {new} EXCEPT SELECT * FROM {table}")
