"""Rows the store tests need (users, configs, signals), with unique names so tests can share one database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository, StoredConfig
from polyhunter.store.repos.copy_trades import PrewriteRequest


def new_address() -> str:
    return "0x" + secrets.token_hex(20)


def new_key() -> str:
    return secrets.token_hex(16)


async def new_user(session: AsyncSession) -> int:
    return await UserRepository(session).create(f"user-{secrets.token_hex(6)}")


def domain_config(user_id: int, leader: str, value: str = "25") -> CopyConfig:
    return CopyConfig(
        id=0,
        version=0,
        user_id=user_id,
        leader=leader,
        sizing=SizingMode.FIXED_USDC,
        sizing_value=Decimal(value),
        custody=CustodyMode.PAPER,
        min_trade_usdc=Decimal("1"),
        max_trade_usdc=Decimal("100.5"),
    )


async def new_config(session: AsyncSession, leader: str | None = None) -> StoredConfig:
    user_id = await new_user(session)
    return await CopyConfigRepository(session).create(domain_config(user_id, leader or new_address()))


def prewrite_request(
    stored: StoredConfig, signal_key: str, notional_micro: int = 10_000_000
) -> PrewriteRequest:
    return PrewriteRequest(
        signal_key=signal_key,
        config_id=stored.config.id,
        config_version=stored.config.version,
        user_id=stored.config.user_id,
        side=Side.BUY,
        asset="71321045679252212594626385532706912750332728571942532289631379312455583992563",
        size_micro=20_000_000,
        price_micro=500_000,
        notional_micro=notional_micro,
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
