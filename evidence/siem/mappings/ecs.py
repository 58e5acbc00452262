"""Events → Elastic Common Schema (ECS 8.11.0) documents, built in SQL a batch at a time.

Only ECS fields plus our namespaced `scim_evidence.*`. Per event:

- `@timestamp` = occurred_at (ingested_at when the source gave no time), `event.created` and
  `event.ingested` = ingested_at, all RFC 3339 UTC with milliseconds; `event.hash` = the
  store's event_hash; `event.sequence` = seq; `event.provider` = the source's name.
- `event.kind`, `event.category`, `event.type` from `ACTIONS` by canonical action; Okta event
  types Elastic's integration classifies outside IAM (sessions, SSO, policy and app lifecycle)
  take `OKTA_EVENT_TYPES` first, so both agree. Unmapped actions get no category or type.
- Okta System Log records follow Elastic's Okta pipeline: `event.action` = eventType,
  `event.id` = uuid, `event.outcome` from outcome.result, `user.*` = the actor (plus
  `user.id`), `user.target.{id,full_name}` = first target of type User,
  `user.target.group.{id,name}` = first UserGroup, `related.user` in Elastic's order,
  `message` = displayMessage; the network context as that pipeline maps it: `source.ip` and
  `client.ip` (real addresses only), `related.ip`, `source.user.*`/`client.user.*` (the
  actor), `client.geo.*` from geographicalContext, `client.domain`,
  `client.as.organization.name`, `user_agent.original`, and Okta's own fields under `okta.*`.
  `source.geo.*` and the parsed `user_agent.*` are left to the user's ingest pipeline.
- Entra provisioning records (raw has `jobId` and `provisioningAction`): Elastic's
  `azure.provisioning.properties.*` names for the Graph record's fields.
- Other sources: `event.action` = canonical action, `event.id` = event_id, `user.name` =
  actor, `user.target.id` = account_id, else person_id; group membership puts the group in
  `group.name` and `user.target.group.name`.
- Findings (`finding.*`): `event.kind` alert, `rule.{id,name,category,ruleset}`,
  `event.severity` from `SEVERITY`, `message` = explanation, `scim_evidence.finding.*`.
- `scim_evidence.{action, event_id, source, native_type, app, account_id, person_id,
  entitlement, inferred, details, raw}`; details and raw are JSON objects as stored.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import duckdb

from evidence.siem.mappings.docs import json_path, query_docs
from evidence.siem.mappings.user_agents import install_user_agents
from evidence.siem.sinks.base import Doc
from evidence.sql import load_sql

__all__ = [
    "asset_documents",
    "asset_seq_of",
    "event_id_of",
    "ECS_VERSION",
    "ACTIONS",
    "OKTA_EVENT_TYPES",
    "SEVERITY",
    "EcsClass",
    "documents",
]

ECS_VERSION = "8.11.0"


class EcsClass(NamedTuple):
    """event.kind, event.category and event.type of one action."""

    kind: str
    category: tuple[str, ...]
    type: tuple[str, ...]


_IAM = ("iam",)
_USER_CHANGE = EcsClass("event", _IAM, ("user", "change"))

# DOMAIN §4.1: IAM events are category iam with an object (user, group, admin) and a verb.
# HR records describe the person's identity: a hire creates it, everything after changes it
# (a terminated person's record stays, with a new status). An app assignment changes what the
# person may use; the app account it leads to has its own account.create.
ACTIONS: dict[str, EcsClass] = {
    "hr.hire": EcsClass("event", _IAM, ("user", "creation")),
    "hr.move": _USER_CHANGE,
    "hr.leave": _USER_CHANGE,
    "hr.return": _USER_CHANGE,
    "hr.terminate": _USER_CHANGE,
    "user.create": EcsClass("event", _IAM, ("user", "creation")),
    "user.activate": _USER_CHANGE,
    "user.deactivate": _USER_CHANGE,
    "user.suspend": _USER_CHANGE,
    "user.unsuspend": _USER_CHANGE,
    "user.delete": EcsClass("event", _IAM, ("user", "deletion")),
    "user.login": EcsClass("event", ("authentication",), ("start",)),
    "app.assign": _USER_CHANGE,
    "app.unassign": _USER_CHANGE,
    "account.create": EcsClass("event", _IAM, ("user", "creation")),
    "account.update": _USER_CHANGE,
    "account.activate": _USER_CHANGE,
    "account.deactivate": _USER_CHANGE,
    "account.delete": EcsClass("event", _IAM, ("user", "deletion")),
    "account.login": EcsClass("event", ("authentication",), ("start",)),
    "group.member.add": EcsClass("event", _IAM, ("group", "change")),
    "group.member.remove": EcsClass("event", _IAM, ("group", "change")),
    "privilege.grant": EcsClass("event", _IAM, ("admin", "change")),
    "privilege.revoke": EcsClass("event", _IAM, ("admin", "change")),
    # A finding's status change is an alert about IAM state, not an IAM action itself.
    "finding.open": EcsClass("alert", _IAM, ("info",)),
    "finding.resolve": EcsClass("alert", _IAM, ("info",)),
    "finding.reopen": EcsClass("alert", _IAM, ("info",)),
    "finding.accept": EcsClass("alert", _IAM, ("info",)),
}

_AUTH = ("authentication",)
_SESSION = ("authentication", "session")
_CONFIG = ("configuration",)

# Okta eventTypes that Elastic's Okta pipeline (ECS 8.11.0 revision) classifies itself, where
# it differs from our canonical action's class (or the action is unmapped): values as Elastic
# sets them, so documents for the same Okta event agree. Where that pipeline sets a category
# but no type, we add the ECS type its name implies.
OKTA_EVENT_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "user.session.start": (_SESSION, ("start", "info")),
    "user.session.end": (_SESSION, ("end", "info")),
    "user.authentication.sso": (_AUTH, ("info",)),
    "policy.evaluate_sign_on": (_AUTH, ("info",)),
    "policy.lifecycle.activate": (_CONFIG, ("change",)),
    "policy.lifecycle.create": (_CONFIG, ("creation",)),
    "policy.lifecycle.deactivate": (_CONFIG, ("change",)),
    "policy.lifecycle.delete": (_CONFIG, ("deletion",)),
    "policy.lifecycle.update": (_CONFIG, ("change",)),
    "policy.rule.activate": (_CONFIG, ("change",)),
    "policy.rule.add": (_CONFIG, ("change",)),
    "policy.rule.deactivate": (_CONFIG, ("change",)),
    "policy.rule.delete": (_CONFIG, ("deletion",)),
    "policy.rule.update": (_CONFIG, ("change",)),
    "application.lifecycle.activate": (_CONFIG, ("change",)),
    "application.lifecycle.create": (_CONFIG, ("creation",)),
    "application.lifecycle.deactivate": (_CONFIG, ("change",)),
    "application.lifecycle.delete": (_CONFIG, ("deletion",)),
    "application.lifecycle.update": (_CONFIG, ("change",)),
}

# ECS event.severity is a number whose scale is the producer's; we use the risk-score bands of
# Elastic Security's detection rules, so our alerts sort alongside theirs.
SEVERITY: dict[str, int] = {"info": 0, "low": 21, "medium": 47, "high": 73, "critical": 99}

_SQL = load_sql("evidence.siem.mappings", "ecs.sql")


def _params(after_seq: int, limit: int) -> dict[str, Any]:
    return {
        "after": after_seq,
        "limit": limit,
        "ecs_version": ECS_VERSION,
        "actions": [
            {"action": a, "kind": c.kind, "category": list(c.category), "type": list(c.type)}
            for a, c in ACTIONS.items()
        ],
        "okta_types": [
            {"event_type": t, "kind": "event", "category": list(cat), "type": list(typ)}
            for t, (cat, typ) in OKTA_EVENT_TYPES.items()
        ],
        "severities": [{"severity": s, "score": n} for s, n in SEVERITY.items()],
    }


def documents(
    con: duckdb.DuckDBPyConnection, *, after_seq: int = 0, limit: int = 5000
) -> list[Doc]:
    """ECS documents of up to `limit` events with seq > `after_seq`, in seq order."""
    install_user_agents(con, after_seq, limit)
    return query_docs(con, _SQL, _params(after_seq, limit))


def event_id_of(body: str) -> str | None:
    """The event id an ECS document carries (`scim_evidence.event_id`), if it is one of ours."""
    return json_path(body, ("scim_evidence", "event_id"))


_ASSETS_SQL = load_sql("evidence.siem.mappings", "ecs_assets.sql")
# An account version's document id: a digest of its key, the same in every store holding it.
_ASSET_ID = """CREATE OR REPLACE TEMP MACRO scim_asset_id(source, app, account_id, valid_from) AS
    sha256(concat_ws(chr(31), 'account', source, app, account_id,
        strftime(timezone('UTC', valid_from), '%Y-%m-%dT%H:%M:%S.%fZ')))"""


def asset_documents(
    con: duckdb.DuckDBPyConnection, *, after_seq: int = 0, limit: int = 5000
) -> list[Doc]:
    """ECS asset documents of up to `limit` account versions with seq (rowid + 1) > `after_seq`."""
    con.execute(_ASSET_ID)
    return query_docs(
        con, _ASSETS_SQL, {"after": after_seq, "limit": limit, "ecs_version": ECS_VERSION}
    )


def asset_seq_of(con: duckdb.DuckDBPyConnection, asset_id: str, after: int) -> int | None:
    """The seq (rowid + 1) of the account version an asset document names, if held here
    with a seq past `after` (only those rows are hashed: a run that ended cleanly has none)."""
    con.execute(_ASSET_ID)
    row = con.execute(
        "SELECT rowid + 1 FROM accounts "
        "WHERE rowid >= $after AND scim_asset_id(source, app, account_id, valid_from) = $id",
        {"id": asset_id, "after": after},
    ).fetchone()
    return int(row[0]) if row else None
