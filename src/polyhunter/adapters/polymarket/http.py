"""Shared HTTP plumbing for the venue clients: one aiohttp session, bounded retries, error classes.

Two kinds of errors (ARCHITECTURE conventions), both in the one hierarchy of `domain/errors.py`:
`RetryableError` (network, 429, 5xx — retried here with bounded exponential backoff and full jitter,
honouring Retry-After; a `domain.errors.RetryableError`) and `VenueError` (4xx other than 429: bad
request, funds — the caller decides; never retried blindly). A refused authentication (401, 403) is a
`VenueAuthError`, a `VenueError` that is also a `domain.errors.OperatorNeededError` (`AUTH_REFUSED`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from polyhunter.domain import errors
from polyhunter.log import get_logger

log = get_logger(__name__)

RETRY_STATUSES = frozenset({425, 429, 500, 502, 503, 504})
MAX_BODY_BYTES = 32 << 20  # an answer larger than this is refused unread (a hostile or broken peer)


class VenueError(errors.PolyHunterError):
    """The venue answered with an error that retrying will not fix."""

    def __init__(self, status: int, message: str, body: bytes = b"") -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class VenueAuthError(VenueError, errors.OperatorNeededError):
    """The venue refused the credentials (HTTP 401 or 403): an operator must fix the key or API creds."""

    def __init__(self, status: int, message: str, body: bytes = b"") -> None:
        VenueError.__init__(self, status, message, body)
        self.reason = "AUTH_REFUSED"
        self.detail = f"HTTP {status}: {message}"


AUTH_STATUSES = frozenset({401, 403})


class RetryableError(errors.RetryableError):
    """Network trouble, 429 or 5xx still failing after the retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _BodyTooLarge(Exception):
    """An answer over the client's body bound (retried like a network error)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay_ms: int = 100
    max_delay_ms: int = 5_000

    def delay_s(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_delay_ms / 1000)
            except ValueError:
                pass
        cap = min(self.max_delay_ms, self.base_delay_ms * (2**attempt))
        return random.uniform(0, cap) / 1000  # noqa: S311 - jitter, not crypto


def _error_message(body: bytes) -> str:
    text = body.decode(errors="replace")[:500]
    try:
        import json

        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        return str(data.get("error") or data.get("errorMsg") or data.get("message") or text)
    return text


class HttpClient:
    """One session for one base URL, with retries. Use as an async context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        timeout_ms: int = 5_000,
        policy: RetryPolicy | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._policy = policy or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0
        self.retries = 0

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> bytes:
        """Send and return the body of a 2xx answer; raise VenueError or RetryableError otherwise.

        `retry=False` is for calls whose effect is not idempotent (posting an order): the caller
        reconciles an unknown result instead of resending.
        """
        url = self.base_url + path
        hdrs = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        attempts = self._policy.max_retries + 1 if retry else 1
        last: RetryableError | None = None
        for attempt in range(attempts):
            self.requests += 1
            try:
                async with self._sess().request(method, url, params=params, data=body, headers=hdrs) as resp:
                    data = await self._read(resp)
                    if resp.status < 300:
                        return data
                    if resp.status in AUTH_STATUSES:
                        raise VenueAuthError(resp.status, _error_message(data), data)
                    if resp.status not in RETRY_STATUSES:
                        raise VenueError(resp.status, _error_message(data), data)
                    last = RetryableError(f"{method} {path}: HTTP {resp.status}", resp.status)
                    retry_after = resp.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError, _BodyTooLarge) as exc:
                last = RetryableError(f"{method} {path}: {type(exc).__name__}: {exc}")
                retry_after = None
            if attempt + 1 < attempts:
                self.retries += 1
                await asyncio.sleep(self._policy.delay_s(attempt, retry_after))
        assert last is not None
        raise last

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """The body, refused once it is known to pass ``max_body_bytes`` (a body is held whole in memory:
        without a bound one answer of a hostile or broken peer takes as much memory as it likes)."""
        limit = self.max_body_bytes
        if resp.content_length is not None and resp.content_length > limit:
            raise _BodyTooLarge(f"answer of {resp.content_length} bytes, over {limit}")
        body = bytearray()
        async for chunk in resp.content.iter_chunked(1 << 16):
            body += chunk
            if len(body) > limit:
                raise _BodyTooLarge(f"answer over {limit} bytes")
        return bytes(body)
