"""The redemption store, the same on SQLite and PostgreSQL: a follower's record in a market from its
executed copies (exact amounts where known, fees, sells), the markets still to redeem, and one row per
(follower, market) that goes PENDING -> REDEEMED once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import MarketBook, RedemptionState
from polyhunter.domain.signal import Side, signal_key
from polyhunter.domain.states import CopyTradeState
from polyhunter.ports.store import NewCopy, Outcome
from polyhunter.store.copy_writes import finish_copies, insert_copies, record_signals
from polyhunter.store.database import core_transaction
from polyhunter.store.redemptions import SqlRedemptionStore
from tests.support.store_factories import a_signal, configs, new_address

pytestmark = pytest.mark.integration

EXECUTED, FAILED = CopyTradeState.EXECUTED, CopyTradeState.FAILED


async def test_holders_markets_and_one_redemption(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    (stored,) = await configs(sessions, leader, 1)
    cfg = stored.config
    market, other = "0x" + new_address()[2:].ljust(64, "1"), "0x" + new_address()[2:].ljust(64, "2")
    fills = [  # (market, token, side, size, avg price, exact notional, fee, state)
        (market, "11", Side.BUY, 10_000_000, 533_333, 5_333_330, 99_561, EXECUTED),
        (market, "11", Side.BUY, 4_000_000, 500_000, None, 40_000, EXECUTED),  # no exact amount: size x price
        (market, "11", Side.SELL, 2_000_000, 600_000, 1_200_000, 19_200, EXECUTED),
        (market, "11", Side.BUY, 9_000_000, 500_000, None, None, FAILED),  # never filled
        (other, "21", Side.BUY, 1_000_000, 250_000, 250_000, 0, EXECUTED),
    ]
    for n, (cid, token, side, size, price, notional, fee, state) in enumerate(fills):
        base = a_signal(leader, 2000 + n)
        signal = dataclasses.replace(
            base,
            key=signal_key(base.tx_hash, leader, token, side, size),
            condition_id=cid,
            side=side,
            asset=token,
        )
        copy = NewCopy(cfg.id, cfg.version, cfg.user_id, side, token, size, price, size * price // 10**6)
        async with core_transaction(sessions) as db:
            await record_signals(db, [signal])
            ids = await db.run_sync(insert_copies, signal.key, [copy], "w", signal.seen_at)
            done = state is EXECUTED
            outcome = Outcome(
                ids[cfg.id],
                state,
                filled_size_micro=size if done else None,
                filled_price_micro=price if done else None,
                fees_micro=fee,
                filled_notional_micro=notional,
            )
            await finish_copies(db, [outcome], signal.seen_at)
    store = SqlRedemptionStore(sessions)
    held = await store.held_markets()
    assert held[market] == ("11",)
    assert held[other] == ("21",)
    (holder,) = await store.holders(market)
    assert holder.custody is CustodyMode.PAPER
    assert holder.book == MarketBook(
        bought_micro=5_333_330 + 2_000_000, sold_micro=1_200_000, fees_micro=158_761
    )

    now = datetime.now(UTC)
    first = await store.begin_redemption(holder, market, "11", 12_000_000, 12_000_000, now)
    again = await store.begin_redemption(holder, market, "11", 0, 0, now)  # a second resolution: same row
    assert again == first
    assert first.state is RedemptionState.PENDING
    assert first.payout_micro == 12_000_000
    await store.note_redemption_failure(first.id, "boom " * 500, now)
    (failed,) = await store.redemptions(market)
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert len(failed.last_error) == 512
    assert await store.finish_redemption(first.id, 12_000_000, 4_707_909, now)
    assert not await store.finish_redemption(first.id, 12_000_000, 4_707_909, now)  # once
    (finished,) = await store.redemptions(market)
    assert (finished.state, finished.realized_pnl_micro, finished.last_error) == (
        RedemptionState.REDEEMED,
        4_707_909,
        None,
    )
    assert market not in await store.held_markets()  # redeemed: no longer watched
