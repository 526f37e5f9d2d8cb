"""PROXY copies queued for settlement in a store: the store side of the custody rig (custody_rig.py) for
the settlement benchmark and the settlement tests (tests/support/settle_seed.py). A user with a PROXY config, fleet workers registered
with their float, and BUY and SELL copies prewritten and queued for settlement, as the engine leaves them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.ports.store import NewCopy
from polyhunter.secretbox import SecretBox
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.settlements import NewSettlement, SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"  # noqa: S105 - an outcome token id
USDC = 1_000_000
LEADER = "0x" + "77" * 20

Sessions = async_sessionmaker[AsyncSession]


async def register_worker(
    sessions: Sessions, box: SecretBox, address: str, key: str, float_micro: int
) -> int:
    """A fleet worker's wallet (its key encrypted) with the float it may carry; returns the wallet id."""
    async with unit_of_work(sessions) as session:
        wallet_id = await WalletRepository(session, box).create(address, WalletKind.FLEET, private_key=key)
        await SettlementRepository(session).add_worker(wallet_id, float_micro)
    return wallet_id


async def proxy_config(sessions: Sessions, user_name: str) -> CopyConfig:
    """A new user with a PROXY config (1 USDC a copy) following LEADER; returns the config as stored."""
    async with unit_of_work(sessions) as session:
        user_id = await UserRepository(session).create(user_name)
        cfg = CopyConfig(0, 0, user_id, LEADER, SizingMode.FIXED_USDC, Decimal(1), CustodyMode.PROXY)
        return (await CopyConfigRepository(session).create(cfg)).config


async def queue_copies(
    sessions: Sessions,
    config: CopyConfig,
    proxy: str,
    workers: Sequence[int],
    count: int,
    commission: Callable[[int], int],
    *,
    sell: Callable[[int], bool] = lambda _i: False,
    worker_id: str = "t",
) -> None:
    """``count`` copies of ``config`` (2 shares of TOKEN at 0.5; the i-th a SELL if ``sell(i)``, else a
    BUY), each prewritten and queued for settlement by the fleet workers in turn: the i-th moves 1 USDC + i
    base units (a BUY's reimbursement to the worker, a SELL's proceeds to ``proxy``) and owes
    ``commission(i)``."""
    store, now = SqlCopyStore(sessions), datetime.now(UTC)
    for i in range(count):
        side = Side.SELL if sell(i) else Side.BUY
        signal = Signal(
            secrets.token_hex(16),
            config.leader,
            TOKEN,
            "0x" + "cd" * 32,
            side,
            Decimal(2),
            Decimal("0.5"),
            "0x" + secrets.token_hex(32),
            now,
            now,
            SourceKind.WS,
        )
        new = NewCopy(config.id, config.version, config.user_id, side, TOKEN, 2 * USDC, 500_000, USDC)
        ids = await store.prewrite(signal, [new], worker_id, now)
        if not ids:
            raise RuntimeError("the copy was not prewritten")
        async with unit_of_work(sessions) as session:
            queued = await SettlementRepository(session).enqueue(
                NewSettlement(
                    next(iter(ids.values())),
                    config.user_id,
                    proxy,
                    workers[i % len(workers)],
                    side,
                    TOKEN,
                    0 if side is Side.SELL else 2 * USDC,  # a SELL's shares were pulled before it sold
                    USDC + i,
                    commission(i),
                    filled_price_micro=500_000,
                ),
                now,
            )
        if not queued:
            raise RuntimeError("the settlement was not queued")
