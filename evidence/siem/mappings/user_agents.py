"""`user_agent.*` from a raw user agent string, as Elastic's user_agent processor parses it.

Elastic's Okta integration fills `user_agent.name`, `version`, `os.*` and `device.name` by
running that processor over Okta's `client.userAgent.rawUserAgent`; both use uap-core's
regular expressions, so parsing with ua-parser gives the same values (Okta's own `os` and
`device` words, which differ, stay under `okta.client.*`). A batch's distinct strings are
parsed once each, cached across batches, and joined to the mapping query as the temp table
`_user_agents(original, parsed)`: there is no per-event Python.
"""

from __future__ import annotations

import json
from functools import lru_cache

import duckdb
import pyarrow as pa
from ua_parser import parse

__all__ = ["install_user_agents", "user_agent_fields"]

# The batch's distinct raw user agents of Okta records (the same batch as batch.sql's).
_DISTINCT = """
SELECT DISTINCT json_extract_string(raw, '$.client.userAgent.rawUserAgent') AS ua
FROM (SELECT raw FROM events WHERE seq > $after ORDER BY seq LIMIT $limit)
WHERE contains(CAST(raw AS VARCHAR), 'rawUserAgent')
"""
_SCHEMA = pa.schema([("original", pa.string()), ("parsed", pa.string())])


def _version(*parts: str | None) -> str | None:
    return ".".join(p for p in parts if p) or None


@lru_cache(maxsize=65_536)
def user_agent_fields(original: str) -> str:
    """The parsed fields (without `original`) as a JSON object text, Elastic's way: `name`
    and `device.name` are "Other" when unknown, `os` is left out then."""
    result = parse(original)
    ua, os, device = result.user_agent, result.os, result.device
    fields: dict[str, object] = {"name": ua.family if ua else "Other"}
    if ua and (version := _version(ua.major, ua.minor, ua.patch, ua.patch_minor)):
        fields["version"] = version
    if os and os.family != "Other":
        os_fields: dict[str, str] = {"name": os.family}
        if version := _version(os.major, os.minor, os.patch, os.patch_minor):
            os_fields.update(version=version, full=f"{os.family} {version}")
        fields["os"] = os_fields
    fields["device"] = {"name": device.family if device else "Other"}
    return json.dumps(fields, separators=(",", ":"))


def install_user_agents(con: duckdb.DuckDBPyConnection, after_seq: int, limit: int) -> None:
    """Fill `_user_agents` with the parsed user agents of the batch after `after_seq`."""
    agents = [r[0] for r in con.execute(_DISTINCT, {"after": after_seq, "limit": limit}).fetchall()]
    agents = sorted(a for a in agents if a)
    table = pa.Table.from_pydict(
        {"original": agents, "parsed": [user_agent_fields(a) for a in agents]}, schema=_SCHEMA
    )
    con.register("_user_agents_in", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _user_agents AS SELECT * FROM _user_agents_in")
    finally:
        con.unregister("_user_agents_in")
