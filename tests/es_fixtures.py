"""What every test against the Elasticsearch node shares: a client, a data stream of the
test's own, and a sink config for it. Import the fixtures (es_fixture, stream_fixture)
into the test module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from evidence.config import SinkConfig

__all__ = ["es_fixture", "es_sink", "stream_fixture"]


@pytest.fixture(name="es", scope="module")
def es_fixture(es_node: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_node, request_timeout=60)
    yield client
    client.close()


@pytest.fixture(name="stream")
def stream_fixture(request: pytest.FixtureRequest) -> str:
    """A data stream of the test's own."""
    return "logs-scim_evidence." + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()) + "-test"


def es_sink(url: str, stream: str, **extra: Any) -> SinkConfig:
    return SinkConfig(
        name="es", kind="elasticsearch", url=url, data_stream=stream, replicas=0, **extra
    )
