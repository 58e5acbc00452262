"""What a client may talk to and how: https only (plain http to loopback), TLS verification
(a custom CA, or off only by name), proxies from the environment, timeouts, User-Agent."""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx

from connectors.http._redact import redact_url
from connectors.settings import HttpSettings, SourceSettings
from evidence.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "check_url",
    "env_proxy_mounts",
    "is_loopback",
    "tls_verify",
]

logger = logging.getLogger("scim_evidence.http")

DEFAULT_TIMEOUT = httpx.Timeout(connect=10, read=60, write=30, pool=10)
USER_AGENT = "scim-evidence/0.1 (+https://github.com/scim-evidence)"


def is_loopback(host: str) -> bool:
    """A loopback host name or address (localhost, *.localhost, 127/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(source: SourceSettings, url: str, what: str = "url") -> None:
    """Refuse anything but https://, except plain http:// to a loopback host."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme == "https" and host:
        return
    if scheme == "http" and host and is_loopback(host):
        return
    if scheme == "http":
        raise ConfigError(
            f"source {source.name}: {what} {redact_url(url)}: plain http:// is refused "
            "except to loopback addresses; use https://"
        )
    raise ConfigError(f"source {source.name}: {what} {redact_url(url)}: not an https:// URL")


def env_proxy_mounts() -> dict[str, str | None]:
    """Proxy URL per mount pattern from HTTP(S)_PROXY/ALL_PROXY/NO_PROXY, as httpx reads them."""
    # httpx ignores the environment once a custom transport is given, so we read it the same
    # way httpx does (curl's NO_PROXY rules) and mount retrying transports ourselves.
    info = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if info.get(scheme):
            proxy = info[scheme]
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for host in (h.strip() for h in info.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
            continue
        try:
            ip = ipaddress.ip_address(host)
            mounts[f"all://[{host}]" if ip.version == 6 else f"all://{host}"] = None
        except ValueError:
            mounts[f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"] = None
    return mounts


def tls_verify(source: HttpSettings) -> ssl.SSLContext | bool:
    """The `verify` of the source's transports: its `ca_bundle`, or off when it says so."""
    verify: ssl.SSLContext | bool = True
    if source.ca_bundle:
        path = Path(os.path.expanduser(source.ca_bundle))
        try:
            verify = ssl.create_default_context(cafile=str(path))
        except (FileNotFoundError, ssl.SSLError) as e:
            raise ConfigError(f"source {source.name}: ca_bundle {path}: {e}") from None
    if not source.verify_tls:
        logger.warning("source %s: TLS certificate verification is disabled", source.name)
        verify = False
    return verify
