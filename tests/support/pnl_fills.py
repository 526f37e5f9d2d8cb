"""Executed copies written straight into the store at a given time (the engine's write path:
signal, prewrite, outcome), for the daily PnL series tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CopyConfig
from polyhunter.domain.signal import Side, signal_key
from polyhunter.domain.states import CopyTradeState
from polyhunter.ports.store import NewCopy, Outcome
from polyhunter.store.copy_writes import finish_copies, insert_copies, record_signals
from polyhunter.store.database import core_transaction
from tests.support.store_factories import a_signal


async def executed_copy(
    sessions: async_sessionmaker[AsyncSession],
    cfg: CopyConfig,
    n: int,
    market: str,
    token: str,
    side: Side,
    size_micro: int,
    price_micro: int,
    notional_micro: int | None,
    fee_micro: int,
    when: datetime,
) -> None:
    """Copy #n of `cfg`'s leader: EXECUTED at `when` (its fill's exact USDC, or None: size x price)."""
    base = a_signal(cfg.leader, n)
    key = signal_key(base.tx_hash, cfg.leader, token, side, size_micro)
    signal = dataclasses.replace(base, key=key, condition_id=market, side=side, asset=token)
    copy = NewCopy(
        cfg.id,
        cfg.version,
        cfg.user_id,
        side,
        token,
        size_micro,
        price_micro,
        size_micro * price_micro // 10**6,
    )
    async with core_transaction(sessions) as db:
        await record_signals(db, [signal])
        ids = await db.run_sync(insert_copies, signal.key, [copy], "w", when)
        outcome = Outcome(
            ids[cfg.id],
            CopyTradeState.EXECUTED,
            filled_size_micro=size_micro,
            filled_price_micro=price_micro,
            fees_micro=fee_micro,
            filled_notional_micro=notional_micro,
        )
        await finish_copies(db, [outcome], when)
