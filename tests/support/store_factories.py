"""Rows the store tests need (users, configs, signals), with unique names so tests can share one database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CopyConfig
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.ports.store import NewCopy, StoredConfig
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from tests.support.engine_inputs import paper_config


def new_address() -> str:
    return "0x" + secrets.token_hex(20)


def new_key() -> str:
    return secrets.token_hex(16)


async def new_user(session: AsyncSession) -> int:
    return await UserRepository(session).create(f"user-{secrets.token_hex(6)}")


def domain_config(user_id: int, leader: str, value: str = "25") -> CopyConfig:
    return paper_config(user_id, leader, value, max_trade_usdc=Decimal("100.5"))


async def new_config(session: AsyncSession, leader: str | None = None) -> StoredConfig:
    user_id = await new_user(session)
    return await CopyConfigRepository(session).create(domain_config(user_id, leader or new_address()))


ASSET = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def new_copy(stored: StoredConfig, notional_micro: int = 10_000_000) -> NewCopy:
    """A PENDING BUY copy of `stored` (20 shares at 0.50)."""
    cfg = stored.config
    return NewCopy(cfg.id, cfg.version, cfg.user_id, Side.BUY, ASSET, 20_000_000, 500_000, notional_micro)


def signal_with_key(key: str, leader: str | None = None, condition_id: str = "0x" + "cd" * 32) -> Signal:
    now = datetime.now(UTC)
    tx = "0x" + secrets.token_hex(32)
    return Signal(
        key,
        leader or new_address(),
        ASSET,
        condition_id,
        Side.BUY,
        Decimal(20),
        Decimal("0.5"),
        tx,
        now,
        now,
        SourceKind.WS,
    )


def a_signal(leader: str, n: int = 1) -> Signal:
    now = datetime.now(UTC)
    tx = "0x" + f"{n:064x}"
    return Signal(
        signal_key(tx, leader, "123", Side.BUY, 5_000_000 + n),
        leader,
        "123",
        "0x" + "cd" * 32,
        Side.BUY,
        Decimal(5),
        Decimal("0.42"),
        tx,
        now,
        now,
        SourceKind.WS,
    )


async def configs(sessions: async_sessionmaker[AsyncSession], leader: str, n: int) -> list[StoredConfig]:
    async with unit_of_work(sessions) as s:
        return [await new_config(s, leader) for _ in range(n)]


async def prewrite_one(
    store: SqlCopyStore,
    copy: NewCopy,
    key: str,
    *,
    now: datetime | None = None,
    worker: str = "engine-1",
) -> int | None:
    """Prewrite one copy through the store (the engine's write path) without recording its signal; its
    id, or None if (key, config) was already there."""
    created = await store.prewrite(
        signal_with_key(key), [copy], worker, now or datetime.now(UTC), record_signal=False
    )
    assert created is not None
    return created.get(copy.config_id)
