"""Identity matching: the owner of every current app account (see matching.sql for the rules)."""

from __future__ import annotations

from importlib import resources

import duckdb
import pyarrow as pa

from evidence.config import Policy

__all__ = ["build_account_owners"]


def _sql(name: str) -> str:
    return resources.files("evidence").joinpath(name).read_text(encoding="utf-8")


def build_account_owners(con: duckdb.DuckDBPyConnection, policy: Policy) -> int:
    """Rebuild `idp_user_owners` and `account_owners`, and the temp tables `_account_idp`
    (the IdP users each current account stands for) and `_app_names`; return the number of
    accounts."""
    svc = pa.Table.from_pylist(
        [{"app": s.app, "pattern": s.account, "owner": s.owner} for s in policy.service_accounts],
        schema=pa.schema([("app", pa.string()), ("pattern", pa.string()), ("owner", pa.string())]),
    )
    con.register("_svc_in", svc)
    con.execute("CREATE OR REPLACE TEMP TABLE _service_accounts AS SELECT * FROM _svc_in")
    con.unregister("_svc_in")
    con.execute("DELETE FROM idp_user_owners")
    con.execute(_sql("matching_idp.sql")).fetchall()
    con.execute("DELETE FROM account_owners")
    rows = con.execute(_sql("matching.sql")).fetchall()
    for stmt in _sql("matching_links.sql").split(";\n"):
        if stmt.strip():
            con.execute(stmt)
    return int(rows[0][0]) if rows else 0
