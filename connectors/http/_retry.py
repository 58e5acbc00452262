"""Retries, rate limits and the request budget, as a transport wrapper (see `connectors.http`).

`RetryingTransport` wraps httpx.HTTPTransport; every transport of one client shares one
`RetryController`, which holds the policy, the budget, the pacing state and the statistics.

- Connection errors, timeouts and 5xx: exponential backoff with full jitter (base 0.5 s, cap
  30 s, 5 attempts). A request that may have reached the server (read timeout, 5xx) is retried
  only when repeating it is harmless: GET, HEAD, OPTIONS, PUT, DELETE, or a request carrying
  the `idempotent` extension (the OAuth token POST).
- 429 (and 503) honour `Retry-After` (seconds or HTTP-date) and Okta's `X-Rate-Limit-Reset`
  (epoch seconds, plus a margin); without either, the same backoff.
- Pacing: when `X-Rate-Limit-Remaining` falls under `low_water` of `X-Rate-Limit-Limit`, the
  remaining requests are spread evenly over the time left to the reset; `min_interval` spaces
  requests for APIs that publish a quota but no headers (Graph audit logs: 5 per 10 s).
- Server instants are compared with the response's own `Date` header when it has one, so a
  skewed local clock neither hammers nor stalls.
- The body is read inside the loop, so a connection dropped mid-body is retried too.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from connectors.http._exceptions import BudgetExhausted, RateLimited, Unreachable, status_text
from connectors.http._redact import redact_url, request_target
from connectors.http._secrets import Secrets

__all__ = ["RetryPolicy", "HttpStats", "RetryController", "RetryingTransport"]

logger = logging.getLogger("scim_evidence.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures where the request never reached the server: always safe to repeat.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _full_jitter(ceiling: float) -> float:
    return random.uniform(0, ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, rate-limit pacing and the per-run request budget."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    max_requests: int | None = None
    low_water: float = 0.1
    reset_margin: float = 1.0
    min_interval: float = 0.0
    # A server asking for a longer wait than this is treated as exhausted, not obeyed blindly.
    max_wait: float = 300.0
    jitter: Callable[[float], float] = _full_jitter

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based): full jitter under the capped ceiling."""
        return self.jitter(min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass
class HttpStats:
    """Counters for progress displays; `waits` keeps the latest (reason, seconds) pairs."""

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_s: float = 0.0
    waits: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=256))


class RetryController:
    """State shared by one client's transports: policy, budget, pacing, stats, secrets."""

    def __init__(
        self,
        source: str,
        *,
        policy: RetryPolicy | None = None,
        secrets: Secrets | None = None,
        stats: HttpStats | None = None,
        on_stats: Callable[[HttpStats], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout: httpx.Timeout | None = None,
    ):
        self.source = source
        self.policy = policy or RetryPolicy()
        self.secrets = secrets or Secrets()
        self.stats = stats if stats is not None else HttpStats()
        self.on_stats, self.sleep, self.clock = on_stats, sleep, clock
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sent = 0
        self._not_before = 0.0
        self._last_send = float("-inf")

    def _notify(self) -> None:
        if self.on_stats is not None:
            self.on_stats(self.stats)

    def wait(self, seconds: float, reason: str, *, rate_limit: bool) -> None:
        """Sleep through the injected `sleep`, counting it."""
        if seconds <= 0:
            return
        with self._lock:
            self.stats.waited_s += seconds
            self.stats.waits.append((reason, seconds))
            if rate_limit:
                self.stats.rate_limit_waits += 1
        self._notify()
        self.sleep(seconds)

    def before_send(self, request: httpx.Request) -> None:
        """Enforce the budget, then wait for the pacing slot."""
        with self._lock:
            limit = self.policy.max_requests
            if limit is not None and self._sent >= limit:
                raise BudgetExhausted(
                    self.source,
                    request.method,
                    self.scrub(request_target(request.url)),
                    f"request budget of {limit} requests for this run is spent",
                )
            self._sent += 1
            due = max(self._not_before, self._last_send + self.policy.min_interval)
        self.wait(due - self.clock(), "pace", rate_limit=True)
        with self._lock:
            self._last_send = self.clock()
            self.stats.requests += 1
        self._notify()

    def scrub(self, text: str) -> str:
        """Text with this client's secrets replaced."""
        return self.secrets.scrub(text)

    def server_now(self, response: httpx.Response) -> float:
        """The server's idea of now (its Date header), else our clock."""
        date = response.headers.get("date")
        if date:
            try:
                return email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                pass
        return self.clock()

    def observe(self, response: httpx.Response) -> None:
        """Slow down pre-emptively when Okta's X-Rate-Limit-Remaining runs low."""
        h = response.headers
        try:
            remaining = int(h["x-rate-limit-remaining"])
            reset = float(h["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return
        try:
            limit: int | None = int(h["x-rate-limit-limit"])
        except (KeyError, ValueError):
            limit = None
        if limit is not None and remaining >= limit * self.policy.low_water:
            return
        to_reset = max(0.0, reset - self.server_now(response))
        if remaining <= 0:
            delay = to_reset + self.policy.reset_margin
        elif limit is None and remaining > 1:
            return
        else:
            delay = to_reset / remaining
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + delay)

    def retry_delay(self, response: httpx.Response, attempt: int) -> tuple[float, str]:
        """How long the server asks us to wait (Retry-After, X-Rate-Limit-Reset), else backoff."""
        now = self.server_now(response)
        waits: list[tuple[float, str]] = []
        retry_after = response.headers.get("retry-after", "").strip()
        if retry_after:
            try:
                waits.append((float(retry_after), "retry-after"))
            except ValueError:
                try:
                    at = email.utils.parsedate_to_datetime(retry_after).timestamp()
                    waits.append((at - now, "retry-after"))
                except (TypeError, ValueError):
                    pass
        reset = response.headers.get("x-rate-limit-reset", "").strip()
        if reset and response.status_code == 429:
            try:
                waits.append((float(reset) - now + self.policy.reset_margin, "rate-limit-reset"))
            except ValueError:
                pass
        if waits:
            seconds, reason = max(waits)
            return max(0.0, seconds), reason
        return self.policy.backoff(attempt), "backoff"


class RetryingTransport(httpx.BaseTransport):
    """Wraps a transport with retries, rate-limit waits, pacing, the budget and request logs."""

    def __init__(self, inner: httpx.BaseTransport, controller: RetryController):
        self.inner, self.controller = inner, controller

    def _logrequest_target(self, request: httpx.Request) -> str:
        return self.controller.scrub(redact_url(request.url))

    def _give_up(self, request: httpx.Request, problem: str) -> tuple[str, str, str, str]:
        c = self.controller
        return c.source, request.method, c.scrub(request_target(request.url)), c.scrub(problem)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send with retries; the returned response's body is already in memory."""
        c, policy = self.controller, self.controller.policy
        if "timeout" not in request.extensions and c.timeout is not None:
            # Requests built inside an auth flow (the token POST) carry no timeout of their own.
            request.extensions["timeout"] = c.timeout.as_dict()
        repeatable = request.method in IDEMPOTENT_METHODS or bool(
            request.extensions.get("idempotent")
        )
        # A probe (e.g. "does this server accept `count`?") may ask for fewer attempts.
        max_attempts = int(request.extensions.get("max_attempts", policy.max_attempts))
        attempt = 0
        while True:
            attempt += 1
            c.before_send(request)
            start = time.perf_counter()
            try:
                response = self._send(request)
            except httpx.TransportError as e:
                elapsed = time.perf_counter() - start
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                logger.debug(
                    "%s %s -> %s after %.3f s",
                    request.method,
                    self._logrequest_target(request),
                    c.scrub(problem),
                    elapsed,
                )
                retryable = isinstance(e, _NOT_SENT) or (
                    repeatable
                    and isinstance(
                        e, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
                    )
                )
                if not retryable or attempt >= max_attempts:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise Unreachable(*self._give_up(request, problem + tries)) from None
                self._retry(request, policy.backoff(attempt), "backoff", problem, rate_limit=False)
                continue
            elapsed = time.perf_counter() - start
            status = response.status_code
            logger.debug(
                "%s %s -> %d in %.3f s",
                request.method,
                self._logrequest_target(request),
                status,
                elapsed,
            )
            c.observe(response)
            retry_status = status == 429 or (
                repeatable and 500 <= status < 600 and status not in (501, 505)
            )
            if not retry_status:
                return response
            if attempt >= max_attempts:
                if status == 429:
                    raise RateLimited(
                        *self._give_up(request, f"429 Too Many Requests after {attempt} attempts"),
                        status=429,
                    )
                return response
            delay, reason = c.retry_delay(response, attempt)
            if delay > policy.max_wait:
                raise RateLimited(
                    *self._give_up(
                        request,
                        f"{status_text(response)}: the server asks for a {delay:.0f} s wait, "
                        f"more than max_wait ({policy.max_wait:.0f} s)",
                    ),
                    status=status,
                )
            self._retry(request, delay, reason, status_text(response), rate_limit=status == 429)

    def _retry(
        self, request: httpx.Request, delay: float, reason: str, why: str, *, rate_limit: bool
    ) -> None:
        c = self.controller
        with c._lock:
            c.stats.retries += 1
        logger.info(
            "source %s: %s %s: %s; retrying in %.2f s (%s)",
            c.source,
            request.method,
            self._logrequest_target(request),
            c.scrub(why),
            delay,
            reason,
        )
        c.wait(delay, reason, rate_limit=rate_limit)

    def _send(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            # Raw bytes, still encoded: the client decodes them once, as for any response.
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        extensions = {
            k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")
        }
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=extensions,
            request=request,
        )

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
