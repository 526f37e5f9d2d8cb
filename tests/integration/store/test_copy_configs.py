"""Copy configs are versioned: an update adds version 2, copy trades keep pointing at the version they used."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CustodyMode, SizingMode
from polyhunter.domain.signal import Side
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.copy_configs import ConfigNotFoundError, CopyConfigRepository
from polyhunter.store.repos.copy_trades import CopyTradeRepository
from tests.support.store_factories import (
    domain_config,
    new_address,
    new_copy,
    new_key,
    new_user,
    prewrite_one,
)

pytestmark = pytest.mark.integration


async def test_update_creates_version_two_and_trades_keep_version_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    leader = new_address()
    async with unit_of_work(sessions) as s:
        user_id = await new_user(s)
        v1 = await CopyConfigRepository(s).create(domain_config(user_id, leader.upper().replace("0X", "0x")))
    store = SqlCopyStore(sessions)
    trade_id = await prewrite_one(store, new_copy(v1), new_key())
    assert v1.config.version == 1
    assert v1.config.leader == leader
    assert trade_id is not None

    changed = dataclasses.replace(
        domain_config(user_id, leader),
        sizing=SizingMode.MULTIPLIER,
        sizing_value=Decimal("0.25"),
        custody=CustodyMode.EOA,
        max_trade_usdc=Decimal("12.345678"),
        sides=frozenset({Side.BUY}),
        deny_markets=frozenset({"will-it-rain"}),
        mirror_sells=False,
    )
    async with unit_of_work(sessions) as s:
        v2 = await CopyConfigRepository(s).update(v1.config.id, changed)
    assert (v2.config.id, v2.config.version) == (v1.config.id, 2)

    async with unit_of_work(sessions) as s:
        repo = CopyConfigRepository(s)
        current = await repo.get(v1.config.id)
        old = await repo.get(v1.config.id, version=1)
        active = await repo.active_for_leader(leader)
        row = await CopyTradeRepository(s).get(trade_id)
    later = await prewrite_one(store, new_copy(v2), new_key())
    assert row is not None
    assert (row.config_id, row.config_version) == (v1.config.id, 1)
    assert later is not None
    assert old is not None
    assert old.config == v1.config
    assert current is not None
    assert current.config == v2.config
    assert current.config.sizing is SizingMode.MULTIPLIER
    assert current.config.max_trade_usdc == Decimal("12.345678")
    assert current.config.sides == frozenset({Side.BUY})
    assert not current.config.mirror_sells
    assert [c.config for c in active] == [v2.config]


async def test_active_for_leader_and_deactivate(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    async with unit_of_work(sessions) as s:
        repo = CopyConfigRepository(s)
        a = await repo.create(domain_config(await new_user(s), leader, "5"))
        b = await repo.create(domain_config(await new_user(s), leader, "7"))
        await repo.create(domain_config(await new_user(s), new_address()))  # another leader
    async with unit_of_work(sessions) as s:
        repo = CopyConfigRepository(s)
        assert [c.config.id for c in await repo.active_for_leader(leader)] == [a.config.id, b.config.id]
        assert await repo.set_active(a.config.id, False)
    async with unit_of_work(sessions) as s:
        repo = CopyConfigRepository(s)
        active = await repo.active_for_leader(leader)
        with pytest.raises(ConfigNotFoundError):
            await repo.update(10**12, domain_config(1, leader))
    assert [(c.config.id, c.config.sizing_value) for c in active] == [(b.config.id, Decimal("7"))]
