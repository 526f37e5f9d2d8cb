"""The daily PnL series in the store, the same on SQLite and PostgreSQL: executed copies (a fee, a
SELL, one without its exact amount) and a redemption over two UTC days give hand-computed rows; a
second write and a restart (a new engine on the same database) recompute the same rows; the reads
roll them up per follower and per leader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.ports.store import StoredConfig
from polyhunter.settings import DbSettings
from polyhunter.store import pnl_daily
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.models import PnlDaily
from polyhunter.store.pnl_daily import PnlDay, SqlDailyPnl
from polyhunter.store.redemptions import SqlRedemptionStore
from tests.support.pnl_fills import executed_copy
from tests.support.store_factories import configs, new_address

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = (datetime(2026, 11, d, 12, tzinfo=UTC) for d in (1, 2, 3))


async def _fill(sessions: async_sessionmaker[AsyncSession], stored: StoredConfig, *args: Any) -> None:
    await executed_copy(sessions, stored.config, *args)


async def _rows(
    sessions: async_sessionmaker[AsyncSession], config_ids: list[int]
) -> list[tuple[object, ...]]:
    async with sessions() as session:
        found = await session.scalars(
            select(PnlDaily)
            .where(PnlDaily.config_id.in_(config_ids))
            .order_by(PnlDaily.config_id, PnlDaily.day)
        )
        return [
            (r.config_id, r.day, r.realized_micro, r.fees_micro, r.unrealized_micro, r.invested_micro)
            for r in found
        ]


@pytest.mark.parametrize("stream_rows", [5_000, 1])  # 1: every config's fills span several reads
async def test_series_two_days_fee_redemption_restart(
    sessions: async_sessionmaker[AsyncSession],
    head_db: DbSettings,
    engines: list[AsyncEngine],
    stream_rows: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pnl_daily, "STREAM_ROWS", stream_rows)
    leader = new_address()
    one, two = await configs(sessions, leader, 2)
    market = "0x" + new_address()[2:].ljust(64, "1")
    other = "0x" + new_address()[2:].ljust(64, "2")
    win, lose, open_token = new_address()[2:], new_address()[2:], new_address()[2:]
    # day 1: config one buys 10 `win` for 4.00 exactly (fee 0.08) and 4 `lose` at 0.5 (size x price, no fee);
    # config two buys 5 `open_token` at 0.6 (fee 0.03)
    await _fill(sessions, one, 1, market, win, Side.BUY, 10_000_000, 400_000, 4_000_000, 80_000, DAY1)
    await _fill(sessions, one, 2, market, lose, Side.BUY, 4_000_000, 500_000, None, 0, DAY1)
    await _fill(sessions, two, 3, other, open_token, Side.BUY, 5_000_000, 600_000, 3_000_000, 30_000, DAY1)
    # day 2: config one sells 4 `win` at 0.6 (fee 0.024), then the market resolves: `win` redeemed
    await _fill(sessions, one, 4, market, win, Side.SELL, 4_000_000, 600_000, 2_400_000, 24_000, DAY2)
    redemptions = SqlRedemptionStore(sessions)
    (holder,) = [h for h in await redemptions.holders(market) if h.user_id == one.config.user_id]
    row = await redemptions.begin_redemption(holder, market, win, 6_000_000, 6_000_000, DAY2)
    await redemptions.finish_redemption(row.id, 6_000_000, 0, DAY2.replace(hour=15))

    pnl = SqlDailyPnl(sessions)
    ids = [one.config.id, two.config.id]
    written = await pnl.write(DAY3)
    assert {r.config_id for r in written} >= set(ids)
    expected = [
        # day 1: -fee; win marked at its fill 0.40, lose at 0.50: 0; invested 4.00 + 2.00
        (one.config.id, DAY1.date(), -80_000, 80_000, 0, 6_000_000),
        # day 2: 4 x (0.60 - 0.40) - 0.024 + 6 x 1 - 2.40 - the losing 2.00 = 2.376; nothing open
        (one.config.id, DAY2.date(), 2_376_000, 24_000, 0, 0),
        (one.config.id, DAY3.date(), 0, 0, 0, 0),
        (two.config.id, DAY1.date(), -30_000, 30_000, 0, 3_000_000),
        (two.config.id, DAY2.date(), 0, 0, 0, 3_000_000),
        (two.config.id, DAY3.date(), 0, 0, 0, 3_000_000),
    ]
    assert await _rows(sessions, ids) == expected

    async def mid(token: str) -> Decimal | None:  # today's live mark for the open token
        return Decimal("0.70") if token == open_token else None

    later = DAY3 + timedelta(hours=1)
    await pnl.write(later, mid)  # again, with a live mark: only today's unrealized moves
    expected[-1] = (two.config.id, DAY3.date(), 0, 0, 500_000, 3_000_000)
    assert await _rows(sessions, ids) == expected
    async with sessions() as session:  # ... and only that row was sent again
        stamps = await session.execute(
            select(PnlDaily.config_id, PnlDaily.day, PnlDaily.updated_at).where(PnlDaily.config_id.in_(ids))
        )
        rewritten = {(c, d) for c, d, at in stamps.all() if at == later}
    assert rewritten == {(two.config.id, DAY3.date())}

    # a restart: a new engine on the same database recomputes the same rows
    engine = create_engine(head_db)
    engines.append(engine)
    await SqlDailyPnl(create_session_factory(engine)).write(DAY3, mid)
    assert await _rows(sessions, ids) == expected

    # reads: one config, a follower, the leader as copied (both configs)
    assert await pnl.series(config_ids=[one.config.id], since=DAY2.date()) == [
        PnlDay(DAY2.date(), 2_376_000, 24_000, 0, 0),
        PnlDay(DAY3.date(), 0, 0, 0, 0),
    ]
    by_leader = await pnl.series(leader=leader.upper().replace("0X", "0x"))
    assert [(d.day, d.realized_micro, d.fees_micro) for d in by_leader] == [
        (DAY1.date(), -110_000, 110_000),
        (DAY2.date(), 2_376_000, 24_000),
        (DAY3.date(), 0, 0),
    ]
    assert by_leader[-1].total_micro == 500_000
    today = await pnl.day_by_user(DAY3.date())
    assert today[two.config.user_id] == PnlDay(DAY3.date(), 0, 0, 500_000, 3_000_000)
    # the days add up: payout 6 + proceeds 2.40 - cost 6.00 - fees 0.104
    assert sum(r[2] for r in expected if r[0] == one.config.id) == 2_296_000
