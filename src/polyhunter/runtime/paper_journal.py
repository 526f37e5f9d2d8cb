"""Paper accounts survive a restart: each fill's account (cash, realized PnL and the position that
moved) is written to the store, and a starting supervisor restores the accounts from there.

Writes of one follower are serialized and read the account when they run, so the last write always
holds the newest state however fills of that follower interleave. Positions are stored with their
average price in micro-USDC; a restored position's cost is shares x that price (within half a
micro-USDC a share of the cost it had).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from polyhunter.domain.signal import from_micro, to_micro
from polyhunter.engine.db_retry import with_backoff
from polyhunter.execution.paper import PaperAccount, PaperPosition
from polyhunter.store.copy_store import translated_errors
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.paper_accounts import PaperAccountRepository, PaperHolding, StoredPaperAccount
from polyhunter.store.sessions import SessionFactory

MICRO = Decimal(1_000_000)
WRITE_ATTEMPTS = 3


def _holding(pos: PaperPosition | None) -> PaperHolding:
    if pos is None or pos.shares <= 0:
        return PaperHolding(0, 0)
    avg = (pos.cost / pos.shares * MICRO).to_integral_value(ROUND_HALF_EVEN)
    return PaperHolding(to_micro(pos.shares), int(avg))


class PaperJournal:
    def __init__(self, sessions: SessionFactory, wallet_of_user: Mapping[int, int]) -> None:
        self._sessions = sessions
        self._wallet_of_user = wallet_of_user
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._dirty: dict[int, set[str]] = {}  # per follower: tokens of the write not yet started
        self._queued: dict[int, asyncio.Task[None]] = {}  # per follower: that write
        self.writes = 0

    async def restore(self, users: Collection[int] | None = None) -> dict[int, PaperAccount]:
        """The stored paper accounts (or these followers'), by user id."""
        async with self._sessions() as session:
            stored = await PaperAccountRepository(session).load_all(users)
        out = {}
        for user_id, row in stored.items():
            acct = PaperAccount(from_micro(row.cash_micro), from_micro(row.starting_cash_micro))
            acct.realized_pnl = from_micro(row.realized_pnl_micro)
            for token, h in row.holdings.items():
                shares = from_micro(h.shares_micro)
                acct.positions[token] = PaperPosition(shares, shares * from_micro(h.avg_price_micro))
            out[user_id] = acct
        return out

    async def save(self, user_id: int, account: PaperAccount, token: str) -> None:
        """The executor's `on_change`: write the account and its position in `token`.

        Coalesced: while a write of this follower waits its turn, later fills join it (their tokens are
        added) instead of queueing writes of their own. A follower copying many leaders at once then
        costs one write per turn, not one per fill (under a fan-out, the fills of one follower queued
        one database transaction each: seconds of `execute` under load). Every caller returns once a
        write that started after its fill is committed."""
        wallet_id = self._wallet_of_user.get(user_id)
        if wallet_id is None:
            raise LookupError(f"no wallet recorded for paper user {user_id}")
        dirty = self._dirty.get(user_id)
        if dirty is not None:  # a write has not started yet: it will carry this fill too
            dirty.add(token)
            await asyncio.shield(self._queued[user_id])
            return
        self._dirty[user_id] = {token}
        task = self._queued[user_id] = asyncio.create_task(self._write(user_id, wallet_id, account))
        task.add_done_callback(_retrieved)
        await asyncio.shield(task)

    async def _write(self, user_id: int, wallet_id: int, account: PaperAccount) -> None:
        async with self._locks[user_id]:
            tokens = self._dirty.pop(user_id)  # from here on, fills queue the next write
            del self._queued[user_id]
            row = StoredPaperAccount(
                user_id,
                wallet_id,
                to_micro(account.cash),
                to_micro(account.starting_cash),
                to_micro(account.realized_pnl),
            )
            changed = {token: _holding(account.positions.get(token)) for token in tokens}

            async def commit() -> None:
                async with translated_errors(), unit_of_work(self._sessions) as session:
                    await PaperAccountRepository(session).save(row, changed)

            # the database busy (no pooled connection within the pool timeout) or away: retried, then
            # StoreUnavailableError, which leaves the fill's copy PENDING for reconciliation (its result
            # is known to the executor), never FAILED with its config paused
            await with_backoff(commit, "paper account write", attempts=WRITE_ATTEMPTS, base_s=0.2, cap_s=2.0)
            self.writes += 1


def _retrieved(task: asyncio.Task[None]) -> None:
    """Every caller of a write may have been cancelled: its outcome is still retrieved (they raise it)."""
    if not task.cancelled():
        task.exception()
