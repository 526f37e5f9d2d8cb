"""Retry a unit of work whose pooled connection turned out to be dead (or that found no free one);
retry any retryable work with bounded backoff (`with_backoff`).

The pool does not ping connections before use (a round trip on every checkout of the hot path), so a
connection the server dropped while it sat in the pool fails its first statement. The store discards
that connection and raises ``StoreUnavailableError`` (ports/store.py); the work is then run again on a
fresh one. A wait for a pooled connection past `db.pool_timeout_s` (the engine outran the pool) is
the same error: the work waits again after a short backoff rather than failing its copies.
Only work that is safe to repeat goes through here: the engine's writes are idempotent (inserts are ON
CONFLICT DO NOTHING, terminal states compare-and-set on PENDING).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from polyhunter.domain.errors import RetryableError
from polyhunter.log import get_logger
from polyhunter.ports.store import StoreUnavailableError

log = get_logger(__name__)

T = TypeVar("T")

ATTEMPTS = 3
BACKOFF_S = 0.05


async def retry_on_disconnect(work: Callable[[], Awaitable[T]], what: str, attempts: int = ATTEMPTS) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except StoreUnavailableError as exc:
            if attempt == attempts:
                raise
            log.warning("database unavailable; retrying", work=what, attempt=attempt, error=str(exc)[:200])
            await asyncio.sleep(BACKOFF_S * attempt)
    raise AssertionError("unreachable")


async def with_backoff(
    work: Callable[[], Awaitable[T]],
    what: str,
    *,
    attempts: int = ATTEMPTS,
    base_s: float = BACKOFF_S,
    cap_s: float = 1.0,
) -> T:
    """Run `work`; on a `RetryableError` (network, 429, 5xx, a stalled database) run it again after
    base_s, 2 x base_s, ... (at most `cap_s`), `attempts` times in all; the last error is raised.
    Other errors pass at once: retrying cannot fix them."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except RetryableError as exc:
            if attempt == attempts:
                raise
            log.warning("retryable error; retrying", work=what, attempt=attempt, error=str(exc))
            await asyncio.sleep(min(cap_s, base_s * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")
