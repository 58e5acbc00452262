"""The Elasticsearch index template for our ECS documents: every field ecs.sql (events) and
ecs_assets.sql (account versions) can emit.

Types follow the ECS 8.11 definitions, with two portable substitutions: `message` and the
`.text` multi-fields are `text` (ECS says `match_only_text`, which lives in a module that
not every cluster has). The mapping is `dynamic: strict`, so a field added to ecs.sql but
not here is refused loudly (a dead letter naming the field) instead of being stored
unsearchable. The source's own record (`scim_evidence.raw`) and our details object are
`flattened`: one field each, whatever their shape, so they can never hit the field limit;
so is Okta's debugData (`okta.debug_context.debug_data.flattened`), as Elastic maps it.

`source.geo.*` and `source.as.*` are never written by us: they are mapped for the user's own
ingest pipeline (a GeoIP processor, see the README), which fills them as Elastic's Okta
integration does and must not meet a strict mapping that refuses them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS", "index_template", "mappings"]

_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
_NAME: dict[str, Any] = {**_KEYWORD, "fields": {"text": {"type": "text"}}}
_DATE: dict[str, Any] = {"type": "date"}
_IP: dict[str, Any] = {"type": "ip"}
_LONG: dict[str, Any] = {"type": "long"}
_BOOL: dict[str, Any] = {"type": "boolean"}
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
    "related.ip": _IP,
    "source.ip": _IP,
    "source.domain": _KEYWORD,
    "source.user.id": _KEYWORD,
    "source.user.name": _NAME,
    "source.user.full_name": _NAME,
    "source.geo.city_name": _KEYWORD,
    "source.geo.continent_code": _KEYWORD,
    "source.geo.continent_name": _KEYWORD,
    "source.geo.country_iso_code": _KEYWORD,
    "source.geo.country_name": _KEYWORD,
    "source.geo.location": {"type": "geo_point"},
    "source.geo.postal_code": _KEYWORD,
    "source.geo.region_iso_code": _KEYWORD,
    "source.geo.region_name": _KEYWORD,
    "source.geo.timezone": _KEYWORD,
    "source.as.number": _LONG,
    "source.as.organization.name": _NAME,
    "client.ip": _IP,
    "client.domain": _KEYWORD,
    "client.as.organization.name": _NAME,
    "client.user.id": _KEYWORD,
    "client.user.name": _NAME,
    "client.user.full_name": _NAME,
    "client.geo.city_name": _KEYWORD,
    "client.geo.region_name": _KEYWORD,
    "client.geo.country_name": _KEYWORD,
    "client.geo.location": {"type": "geo_point"},
    "user_agent.original": _NAME,
    "user_agent.name": _KEYWORD,
    "user_agent.version": _KEYWORD,
    "user_agent.device.name": _KEYWORD,
    "user_agent.os.name": _NAME,
    "user_agent.os.full": _NAME,
    "user_agent.os.version": _KEYWORD,
    "rule.id": _KEYWORD,
    "rule.name": _KEYWORD,
    "rule.category": _KEYWORD,
    "rule.ruleset": _KEYWORD,
    # Okta's own fields, named and typed as Elastic's Okta integration maps them.
    "okta.uuid": _KEYWORD,
    "okta.event_type": _KEYWORD,
    "okta.display_message": _KEYWORD,
    "okta.transaction.id": _KEYWORD,
    "okta.transaction.type": _KEYWORD,
    "okta.outcome.reason": _KEYWORD,
    "okta.outcome.result": _KEYWORD,
    "okta.actor.id": _KEYWORD,
    "okta.actor.alternate_id": _KEYWORD,
    "okta.actor.display_name": _KEYWORD,
    "okta.actor.type": _KEYWORD,
    "okta.client.device": _KEYWORD,
    "okta.client.id": _KEYWORD,
    "okta.client.ip": _IP,
    "okta.client.zone": _KEYWORD,
    "okta.client.user_agent.browser": _KEYWORD,
    "okta.client.user_agent.os": _KEYWORD,
    "okta.client.user_agent.raw_user_agent": _KEYWORD,
    "okta.authentication_context.authentication_provider": _KEYWORD,
    "okta.authentication_context.authentication_step": {"type": "integer"},
    "okta.authentication_context.credential_provider": _KEYWORD,
    "okta.authentication_context.credential_type": _KEYWORD,
    "okta.authentication_context.external_session_id": _KEYWORD,
    "okta.authentication_context.interface": _KEYWORD,
    "okta.authentication_context.root_session_id": _KEYWORD,
    "okta.security_context.as.number": {"type": "integer"},
    "okta.security_context.as.organization.name": _KEYWORD,
    "okta.security_context.domain": _KEYWORD,
    "okta.security_context.is_proxy": _BOOL,
    "okta.security_context.isp": _KEYWORD,
    "okta.debug_context.debug_data.flattened": _FLATTENED,
    "okta.debug_context.debug_data.request_id": _KEYWORD,
    "okta.debug_context.debug_data.request_uri": _KEYWORD,
    "okta.debug_context.debug_data.url": _KEYWORD,
    "okta.debug_context.debug_data.threat_suspected": _KEYWORD,
    "okta.debug_context.debug_data.device_fingerprint": _KEYWORD,
    "okta.debug_context.debug_data.dt_hash": _KEYWORD,
    "okta.debug_context.debug_data.factor": _KEYWORD,
    # Entra provisioning, named as Elastic's azure provisioning integration names them.
    "azure.provisioning.properties.id": _KEYWORD,
    "azure.provisioning.properties.activity_datetime": _DATE,
    "azure.provisioning.properties.tenant_id": _KEYWORD,
    "azure.provisioning.properties.job_id": _KEYWORD,
    "azure.provisioning.properties.cycle_id": _KEYWORD,
    "azure.provisioning.properties.change_id": _KEYWORD,
    "azure.provisioning.properties.action": _KEYWORD,
    "azure.provisioning.properties.provisioning_action": _KEYWORD,
    "azure.provisioning.properties.duration_ms": _LONG,
    "azure.provisioning.properties.initiated_by.id": _KEYWORD,
    "azure.provisioning.properties.initiated_by.name": _KEYWORD,
    "azure.provisioning.properties.initiated_by.type": _KEYWORD,
    "azure.provisioning.properties.service_principal.id": _KEYWORD,
    "azure.provisioning.properties.service_principal.name": _KEYWORD,
    "azure.provisioning.properties.source_system.id": _KEYWORD,
    "azure.provisioning.properties.source_system.name": _KEYWORD,
    "azure.provisioning.properties.target_system.id": _KEYWORD,
    "azure.provisioning.properties.target_system.name": _KEYWORD,
    "azure.provisioning.properties.source_identity.id": _KEYWORD,
    "azure.provisioning.properties.source_identity.name": _KEYWORD,
    "azure.provisioning.properties.source_identity.identity_type": _KEYWORD,
    "azure.provisioning.properties.target_identity.id": _KEYWORD,
    "azure.provisioning.properties.target_identity.name": _KEYWORD,
    "azure.provisioning.properties.target_identity.identity_type": _KEYWORD,
    "azure.provisioning.properties.provisioning_status_info.status": _KEYWORD,
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
