"""The Elasticsearch sink: ECS documents into a data stream through the bulk API.

Each document is a `create` with `_id` = event_id, so a re-send inside the same backing
index answers 409 and changes nothing; the forwarder counts that as delivered. A data
stream cannot de-duplicate across a rollover, so there the forwarder's cursor is the only
guard (ARCHITECTURE.md), which is why this sink reports exactly what Elasticsearch
confirmed and nothing more.

Per item of a bulk response:

- 2xx, or 409 (already there): acknowledged.
- 429 and 503 (rejected execution, flood-stage block, unavailable shard): sent again with
  exponential backoff (`retry_backoff` doubling, `retries` times); still failing, the item
  is left unresolved, which stops the run with the cursor before it.
- 400 about the document (mapping or parsing): refused with Elasticsearch's reason, and the
  forwarder dead-letters it.
- Anything else, including a 400 about the destination (a closed index, a block): left
  unresolved; sending more would not help.

A whole bulk request answered 429 or 503 is sent again the same way, and so are the setup
requests (template, mapping), so a rejection burst at a run's start does not fail it. A
whole request that fails otherwise (connection refused, timeout, 401) raises SinkError when
nothing of the batch was confirmed yet; after a partial success the confirmed part is returned and
the rest left unresolved, so the cursor still moves past exactly what Elasticsearch holds.

Credentials come from environment variables named in the config, are handed to the client
only, and appear in no message or repr.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import streaming_bulk

from connectors.http import RetryPolicy, is_loopback, secret_value
from evidence.config import SinkConfig
from evidence.errors import ConfigError, SinkError
from evidence.siem.sinks.base import Doc, SendResult
from evidence.siem.sinks.es_template import index_template, mappings

__all__ = ["ElasticsearchSink", "classify", "open_elasticsearch"]

log = logging.getLogger("scim_evidence.siem")  # the CLI shows this tree on stderr

RETRY_STATUS = (429, 503)
# 400s that name the destination rather than the document: refusing the document (a dead
# letter) would lose it for a fault of the cluster.
_DESTINATION_ERRORS = frozenset(
    {
        "cluster_block_exception",
        "index_closed_exception",
        "index_not_found_exception",
        "invalid_index_name_exception",
        "security_exception",
        "resource_not_found_exception",
    }
)
# Data stream names as Elasticsearch accepts them (lowercase, no wildcard or separators).
_NAME = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,254}$")
# Templates already installed by this process, so a follow loop does not re-send them.
_INSTALLED: set[tuple[str, str]] = set()


def classify(item: dict[str, Any]) -> tuple[str, str | None]:
    """One bulk response item → ("acked" | "refused" | "unresolved", reason)."""
    status = int(item.get("status", 500))
    if 200 <= status < 300 or status == 409:
        return "acked", None
    error = item.get("error")
    if isinstance(error, dict):
        kind = str(error.get("type", "error"))
        reason = f"{status} {kind}: {error.get('reason', '')}".rstrip(": ")
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
    else:
        kind, reason = "error", f"{status} {error}"
    if status == 400 and kind not in _DESTINATION_ERRORS:
        return "refused", reason
    return "unresolved", reason


class ElasticsearchSink:
    """Bulk-create documents in one data stream."""

    def __init__(
        self,
        name: str,
        client: Elasticsearch,
        data_stream: str,
        *,
        url: str = "",
        install_template: bool = True,
        replicas: int | None = None,
        batch_docs: int = 1000,
        batch_bytes: int = 5_000_000,
        retries: int = 5,
        retry_backoff: float = 0.5,
    ) -> None:
        if not _NAME.match(data_stream):
            raise ConfigError(f"sink {name!r}: data_stream {data_stream!r} is not a valid name")
        self.name, self.data_stream, self.url = name, data_stream, url
        self._client = client
        self._install, self._replicas = install_template, replicas
        self._batch_docs, self._batch_bytes = batch_docs, batch_bytes
        # The HTTP layer's policy, as the bulk helper takes it (its own backoff has no jitter).
        self._policy = RetryPolicy(
            max_attempts=retries + 1, base=retry_backoff, cap=max(retry_backoff, 30.0)
        )

    def __repr__(self) -> str:
        return f"ElasticsearchSink(name={self.name!r}, url={self.url!r}, data_stream={self.data_stream!r})"

    def last_delivered(self) -> str | None:
        """Install the template (and new fields of an existing stream); None: ES de-duplicates."""
        key = (self.url, self.data_stream)
        if self._install and key not in _INSTALLED:
            body = index_template(self.data_stream, replicas=self._replicas)
            self._call(
                "install the index template",
                self._client.indices.put_index_template,
                name=self.data_stream,
                **body,
            )
            # A template applies at the next rollover; new fields must reach the write index now.
            exists = self._call(
                "look up the data stream", self._client.indices.exists, index=self.data_stream
            )
            if exists:
                self._call(
                    "update the data stream's mapping",
                    self._client.indices.put_mapping,
                    index=self.data_stream,
                    **mappings(),
                )
            _INSTALLED.add(key)
        return None

    def send(self, docs: Sequence[Doc]) -> SendResult:
        """Bulk-create the documents; per id: acked, refused (with reason) or unresolved."""
        result = SendResult()
        if not docs:
            return result
        unresolved: list[str] = []
        try:
            for ok, item in streaming_bulk(
                self._client,
                docs,
                chunk_size=self._batch_docs,
                max_chunk_bytes=self._batch_bytes,
                expand_action_callback=_action,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=self._policy.max_attempts - 1,
                initial_backoff=self._policy.base,
                max_backoff=self._policy.cap,
                retry_on_status=RETRY_STATUS,
                index=self.data_stream,
            ):
                info = item.get("create", {})
                outcome, reason = ("acked", None) if ok else classify(info)
                event_id = info.get("_id", "")
                if outcome == "acked":
                    result.acked.append(event_id)
                elif outcome == "refused":
                    result.refused[event_id] = reason or "refused"
                else:
                    unresolved.append(f"{event_id}: {reason}")
        except (ApiError, TransportError) as e:
            message = f"sink {self.name!r}: bulk request to {self.url} failed: {_describe(e)}"
            if not result.acked and not result.refused:
                raise SinkError(message) from None
            # Keep what was confirmed: the forwarder moves the cursor past it and stops.
            log.warning("%s; %d documents confirmed before it", message, len(result.acked))
        if unresolved:
            log.warning(
                "sink %r: %d documents not accepted, e.g. %s",
                self.name,
                len(unresolved),
                unresolved[0],
            )
        return result

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One setup request; 429 and 503 retried with the bulk requests' backoff."""
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                return fn(**kwargs)
            except ApiError as e:
                if e.status_code not in RETRY_STATUS or attempt == self._policy.max_attempts:
                    raise self._setup_failed(what, e) from None
            except TransportError as e:
                raise self._setup_failed(what, e) from None
            time.sleep(self._policy.backoff(attempt))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _setup_failed(self, what: str, e: Exception) -> SinkError:
        return SinkError(f"sink {self.name!r}: cannot {what} at {self.url}: {_describe(e)}")


def _action(doc: Doc) -> tuple[dict[str, Any], str]:
    # The body is already serialized JSON: the client forwards a str unchanged.
    return {"create": {"_id": doc.event_id}}, doc.body


def _describe(e: Exception) -> str:
    """One line about a client error, built from its status and type only (never headers)."""
    if isinstance(e, ApiError):
        error = e.body.get("error") if isinstance(e.body, dict) else None
        if isinstance(error, dict):
            return f"{e.status_code} {error.get('type', 'error')}: {error.get('reason', '')}"
        return f"{e.status_code} {e.message}"
    cause = getattr(e, "message", "") or type(e).__name__
    return f"{type(e).__name__}: {str(cause).splitlines()[0]}"


def _secret(sink: SinkConfig, key: str, env: str) -> str:
    return secret_value(f"sink {sink.name!r}", key, env, None)


def open_elasticsearch(sink: SinkConfig) -> ElasticsearchSink:
    """The sink a `kind = "elasticsearch"` config describes; no request is made yet."""
    if not sink.url:
        raise ConfigError(f"sink {sink.name!r}: an elasticsearch sink needs `url`")
    if sink.model_extra:
        # A misspelt key (say `api_key` for `api_key_env`) must not pass silently; names only,
        # the value may be a secret.
        raise ConfigError(
            f"sink {sink.name!r}: unknown key(s) {', '.join(sorted(sink.model_extra))}"
        )
    parts = urlsplit(sink.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"sink {sink.name!r}: url must be http(s)://host[:port]")
    if parts.username or parts.password:
        raise ConfigError(
            f"sink {sink.name!r}: no credentials in url; use api_key_env or username/password_env"
        )
    auth: dict[str, Any] = {}
    if sink.api_key_env:
        auth["api_key"] = _secret(sink, "api_key", sink.api_key_env)
    elif sink.username or sink.password_env:
        if not (sink.username and sink.password_env):
            raise ConfigError(f"sink {sink.name!r}: basic auth needs username and password_env")
        auth["basic_auth"] = (sink.username, _secret(sink, "password", sink.password_env))
    if auth and parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise ConfigError(
            f"sink {sink.name!r}: refusing to send credentials over plain http to {parts.hostname}"
        )
    tls: dict[str, Any] = {}
    if parts.scheme == "https":
        tls["verify_certs"] = sink.verify_tls
        if sink.ca_bundle is not None:
            # The client reads the file only at the first request: fail at load time instead.
            if not sink.ca_bundle.is_file():
                raise ConfigError(f"sink {sink.name!r}: ca_bundle {sink.ca_bundle} not found")
            tls["ca_certs"] = str(sink.ca_bundle)
    client = Elasticsearch(
        sink.url,
        request_timeout=sink.timeout,
        # Connection errors and gateway hiccups are retried by the transport (a re-send is a
        # 409 at worst); 429/503 are the bulk helper's, with backoff.
        max_retries=2,
        retry_on_timeout=True,
        retry_on_status=(502, 504),
        **auth,
        **tls,
    )
    return ElasticsearchSink(
        sink.name,
        client,
        sink.data_stream,
        url=sink.url,
        install_template=sink.install_template,
        replicas=sink.replicas,
        batch_docs=sink.batch_docs,
        batch_bytes=sink.batch_bytes,
        retries=sink.retries,
        retry_backoff=sink.retry_backoff,
    )
