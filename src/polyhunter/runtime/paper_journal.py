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
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from polyhunter.domain.signal import from_micro, to_micro
from polyhunter.execution.paper import PaperAccount, PaperPosition
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.paper_accounts import PaperAccountRepository, PaperHolding, StoredPaperAccount
from polyhunter.store.sessions import SessionFactory

MICRO = Decimal(1_000_000)


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
        self.writes = 0

    async def restore(self) -> dict[int, PaperAccount]:
        """The stored paper accounts, by user id."""
        async with self._sessions() as session:
            stored = await PaperAccountRepository(session).load_all()
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
        """The executor's `on_change`: write the account and its position in `token`."""
        wallet_id = self._wallet_of_user.get(user_id)
        if wallet_id is None:
            raise LookupError(f"no wallet recorded for paper user {user_id}")
        async with self._locks[user_id]:
            row = StoredPaperAccount(
                user_id,
                wallet_id,
                to_micro(account.cash),
                to_micro(account.starting_cash),
                to_micro(account.realized_pnl),
            )
            changed = {token: _holding(account.positions.get(token))}
            async with unit_of_work(self._sessions) as session:
                await PaperAccountRepository(session).save(row, changed)
            self.writes += 1
