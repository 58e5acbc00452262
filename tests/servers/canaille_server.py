"""Canaille 0.3.6 as a second, quirkier SCIM service provider, from its own venv.

Canaille 0.3.6 needs ``scim2-models==0.9.0`` while scim2-server 0.8.3 needs a newer one, so
Canaille lives in ``.venv-canaille`` (override with ``SCIM_EVIDENCE_CANAILLE_PYTHON``) and runs
``canaille_launcher.py`` there: pytest-iam's ``Server`` and configuration, plus
``CANAILLE_SCIM = {"ENABLE_SERVER": True}`` and one OAuth client with a static, long-lived
access token (a token without subject is a client token: SCIM accepts it with no user
permission check). Base URL ``http://127.0.0.1:P/scim/v2``. Install::

    python3 -m venv .venv-canaille
    .venv-canaille/bin/pip install 'canaille[front,oidc,scim]==0.3.6' scim2-models==0.9.0 \\
        pytest-iam==0.3.0

Observed quirks (memory backend, wsgiref, one request at a time):

- any ``count`` query parameter → HTTP 500 with a plain-text body (``min(str, int)``
  TypeError); without ``count`` the whole collection from ``startIndex`` comes back in one page,
  with no ``itemsPerPage``; ``startIndex`` is honoured; ``totalResults`` is the whole collection.
- ``filter``, ``sortBy``/``sortOrder`` are ignored: every resource comes back, in insertion
  order. ServiceProviderConfig says filter/sort/bulk unsupported; there is no /Bulk.
- ``POST /.search`` honours ``count`` only together with ``startIndex``, and slices users and
  groups separately (startIndex=1, count=1 → one user + one group); ``totalResults`` counts both.
- Writes: ``externalId`` is accepted then dropped (never returned); ``entitlements``, ``roles``,
  ``emails[].type/primary`` → 400 invalidSyntax; ``name`` (formatted + familyName) is required;
  a duplicate ``userName`` is accepted (201, two users).
- Group ``members`` is required (``[]`` is allowed; an empty group then lists no ``members``);
  each member needs ``$ref`` and must not have ``type``; listed members have ``value`` = the
  user's **userName**, not its id (so a PATCH ``remove`` with ``members[value eq "<id>"]``
  matches nothing and still answers 200). ``meta.location`` uses userName / displayName.
  PUT and PATCH (add/replace) of members take user ids. PATCH answers 200 with the resource.
  A user's ``groups`` attribute is filled. Deleting a user removes it from its groups.
- ``meta.lastModified`` has one-second precision and the ETag is derived from it, so two
  changes within a second keep the same ``meta.version``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers.scim2_server import REPO_ROOT, ScimServer, ServerUnavailable, run_server

CANAILLE_VERSION = "0.3.6"
LAUNCHER = Path(__file__).with_name("canaille_launcher.py")
INSTALL = (
    "python3 -m venv .venv-canaille && .venv-canaille/bin/pip install "
    "'canaille[front,oidc,scim]==0.3.6' scim2-models==0.9.0 pytest-iam==0.3.0"
)


def canaille_python() -> Path:
    env = os.environ.get("SCIM_EVIDENCE_CANAILLE_PYTHON")
    return Path(env) if env else REPO_ROOT / ".venv-canaille" / "bin" / "python"


@contextmanager
def canaille_server(
    token: str | None = None, startup_timeout: float = 60.0
) -> Iterator[ScimServer]:
    """Canaille's SCIM server on 127.0.0.1:<free port>, accepting ``Bearer <token>``."""
    python = canaille_python()
    if not python.exists():
        raise ServerUnavailable(
            f"{python} not found; install Canaille (from {REPO_ROOT}): {INSTALL}"
        )
    token = token or uuid.uuid4().hex
    with run_server(
        lambda port: [str(python), str(LAUNCHER), "--port", str(port), "--token", token],
        lambda port: f"http://127.0.0.1:{port}/scim/v2",
        token,
        "canaille",
        startup_timeout=startup_timeout,
        # the launcher must not see the project venv's packages
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
    ) as server:
        yield server


@pytest.fixture(name="canaille_server")
def canaille_server_fixture() -> Iterator[ScimServer]:
    """A fresh, empty Canaille per test (starts in a few seconds: imports + an RSA key)."""
    with canaille_server() as server:
        yield server
