"""Start the guardrails' daily counters from the store when a supervisor starts.

The counters live in the Coordinator and are a cache of the store: in memory they die with the
process, in Redis with a restart, a flush or an eviction. This warms them at start; the guard
rebuilds them the same way whenever it finds them missing later (`Guard(spent_today=...)`), so the
daily caps never start again from zero. Spending counts as the engine counts it: BUY copies that
are, or may become, spent (PENDING, EXECUTED, SETTLEMENT_PENDING) since 00:00 UTC; an EXECUTED copy
by what it filled (the engine keeps the filled notional: an aggregate of small copies spends more
than its own row requested), the others by their requested notional (what an unknown result keeps).
SELLs never count (`CopyStore.spent_today`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from polyhunter.engine.guard import Guard
from polyhunter.ports.store import CopyStore


async def seed_guard(guard: Guard, store: CopyStore, now: datetime, users: Iterable[int] = ()) -> None:
    """`users`: the followers this process copies for (their counters start at zero if they spent nothing)."""
    per_user = await store.spent_today(now)
    await guard.seed(now, per_user, sum(per_user.values()), users)
