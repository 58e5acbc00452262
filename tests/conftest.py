"""Shared fixtures: a store in a temp dir, the SOC 2 store and bundle, and the real servers.

The builders of rows and batches live in tests/builders.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import tests.soak  # noqa: F401  (loads the hypothesis profile)
from evidence.store.db import open_store
from reports.build import build_report
from reports.results import ReportResult

# test_siem_*.py and test_forwarder_ndjson.py still import these from here.
from tests.builders import store_file
from tests.report_tenant import END, START, VERSION, tenant

# Real SCIM servers (started on demand by the tests that name these fixtures).
from tests.servers.canaille_server import canaille_server_fixture  # noqa: F401
from tests.servers.scim2_server import scim2_server_fixture  # noqa: F401

pytest_plugins = ["tests.es.node"]  # the real Elasticsearch node: es_node, es_process


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "evidence.duckdb"


@pytest.fixture
def store(store_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_store(store_path)
    yield con
    con.close()


@pytest.fixture(scope="session")
def soc2_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SOC 2 tenant's store file (tests/report_tenant.py); tests open it read-only."""
    return store_file(tmp_path_factory.mktemp("soc2-store") / "evidence.duckdb", tenant)


@pytest.fixture(scope="session")
def soc2_bundle(
    soc2_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReportResult]:
    """The unsigned SOC 2 bundle of the tenant's store, for the whole period."""
    con = open_store(soc2_store, read_only=True)
    try:
        yield build_report(
            con, "soc2", START, END, tmp_path_factory.mktemp("soc2-out"), tool_version=VERSION
        )
    finally:
        con.close()
