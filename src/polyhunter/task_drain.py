"""Ending background work at shutdown: wait a bounded time, cancel the rest; honour a swallowed cancel."""

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


def raise_if_cancelled() -> None:
    """Honour a cancel that a call inside the loop swallowed (caught CancelledError and went on).

    Seen here twice: a cancelled cluster worker beat on forever (its SIGTERM drain hung), and a dedup
    claim keeper refreshed its claims forever after shutdown (``asyncio.run`` never returned). The task
    still counts the request (``Task.cancelling``), so a long-lived loop checks it each round."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
