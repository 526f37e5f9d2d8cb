"""Ending background work at shutdown: wait a bounded time, cancel the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


async def drain_tasks(tasks: Iterable[asyncio.Task[None]], timeout_s: float) -> int:
    """Wait up to `timeout_s` for `tasks`; cancel those still running and wait for them to end.
    Returns how many were cut off."""
    pending_now = set(tasks)
    if not pending_now:
        return 0
    _, pending = await asyncio.wait(pending_now, timeout=timeout_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return len(pending)
