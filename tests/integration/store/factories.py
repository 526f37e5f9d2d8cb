"""Rows the store tests need, with unique names so tests can share one database."""

from __future__ import annotations

import secrets
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side
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
