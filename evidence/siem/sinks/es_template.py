"""The Elasticsearch index template for our ECS documents: every field ecs.sql (events) and
ecs_assets.sql (account versions) can emit.

Types follow the ECS 8.11 definitions, with two portable substitutions: `message` and the
`.text` multi-fields are `text` (ECS says `match_only_text`, which lives in a module that
not every cluster has). The mapping is `dynamic: strict`, so a field added to ecs.sql but
not here is refused loudly (a dead letter naming the field) instead of being stored
unsearchable. The source's own record (`scim_evidence.raw`) and our details object are
`flattened`: one field each, whatever their shape, so they can never hit the field limit.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS", "index_template", "mappings"]

_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
_NAME: dict[str, Any] = {**_KEYWORD, "fields": {"text": {"type": "text"}}}
_DATE: dict[str, Any] = {"type": "date"}
# A leaf over Lucene's 32 KB term limit would refuse the whole document; past this many
# characters a value stays in _source but is not indexed.
_FLATTENED: dict[str, Any] = {"type": "flattened", "ignore_above": 8191}

FIELDS: dict[str, dict[str, Any]] = {
    "@timestamp": _DATE,
    "ecs.version": _KEYWORD,
    "message": {"type": "text"},
    "event.kind": _KEYWORD,
    "event.category": _KEYWORD,
    "event.type": _KEYWORD,
    "event.action": _KEYWORD,
    "event.outcome": _KEYWORD,
    "event.id": _KEYWORD,
    "event.created": _DATE,
    "event.ingested": _DATE,
    "event.hash": _KEYWORD,
    "event.sequence": {"type": "long"},
    "event.provider": _KEYWORD,
    "event.severity": {"type": "long"},
    "user.id": _KEYWORD,
    "user.email": _KEYWORD,
    "user.name": _NAME,
    "user.full_name": _NAME,
    "user.target.id": _KEYWORD,
    "user.target.name": _NAME,
    "user.target.full_name": _NAME,
    "user.target.group.id": _KEYWORD,
    "user.target.group.name": _KEYWORD,
    "group.id": _KEYWORD,
    "group.name": _KEYWORD,
    "related.user": _KEYWORD,
    "rule.id": _KEYWORD,
    "rule.name": _KEYWORD,
    "rule.category": _KEYWORD,
    "rule.ruleset": _KEYWORD,
    "scim_evidence.action": _KEYWORD,
    "scim_evidence.event_id": _KEYWORD,
    "scim_evidence.source": _KEYWORD,
    "scim_evidence.native_type": _KEYWORD,
    "scim_evidence.app": _KEYWORD,
    "scim_evidence.account_id": _KEYWORD,
    "scim_evidence.person_id": _KEYWORD,
    "scim_evidence.entitlement": _KEYWORD,
    "scim_evidence.inferred": {"type": "boolean"},
    "scim_evidence.finding.id": _KEYWORD,
    "scim_evidence.finding.kind": _KEYWORD,
    "scim_evidence.finding.subkind": _KEYWORD,
    "scim_evidence.finding.severity": _KEYWORD,
    "scim_evidence.finding.status": _KEYWORD,
    "scim_evidence.finding.rule": _KEYWORD,
    "scim_evidence.finding.account": _KEYWORD,
    "scim_evidence.finding.controls": _KEYWORD,
    "scim_evidence.finding.first_seen_at": _DATE,
    "scim_evidence.finding.last_seen_at": _DATE,
    "scim_evidence.finding.resolved_at": _DATE,
    "scim_evidence.account.active": {"type": "boolean"},
    "scim_evidence.account.external_id": _KEYWORD,
    "scim_evidence.account.last_login_at": _DATE,
    "scim_evidence.account.created_at": _DATE,
    "scim_evidence.account.valid_from": _DATE,
    "scim_evidence.account.run_id": {"type": "long"},
    "scim_evidence.account.attributes": _FLATTENED,
    "scim_evidence.details": _FLATTENED,
    "scim_evidence.raw": _FLATTENED,
}


def mappings() -> dict[str, Any]:
    """The strict ECS mapping of our documents, nested as Elasticsearch expects."""
    root: dict[str, Any] = {}
    for path, spec in FIELDS.items():
        node = root
        *parents, leaf = path.split(".")
        for name in parents:
            node = node.setdefault(name, {"properties": {}})["properties"]
        node[leaf] = dict(spec)
    return {"dynamic": "strict", "properties": root}


def index_template(data_stream: str, *, replicas: int | None = None) -> dict[str, Any]:
    """Keyword arguments of `indices.put_index_template` (the template's body, `_meta` as
    `meta`) for the template that creates and maps the data stream.

    Priority 200 outranks the built-in `logs-*-*` template (100) of a default cluster;
    the pattern is the data stream's exact name, so two sinks never fight over a template.
    Replicas stay the cluster's default unless configured (a single test node wants 0).
    """
    settings: dict[str, Any] = {}
    if replicas is not None:
        settings["number_of_replicas"] = replicas
    return {
        "index_patterns": [data_stream],
        "data_stream": {},
        "priority": 200,
        "template": {"settings": settings, "mappings": mappings()},
        "meta": {"managed_by": "scim-evidence", "description": "ECS 8.11 events and findings"},
    }
