"""A settlement queue to drain, for the settlement-process tests (SIGKILLs, two processes at once): a funded
proxy on anvil, fleet workers in the store (keys encrypted) holding the shares and collateral their copies
move, and COPIES copies queued SETTLEMENT_PENDING; and the checks that the chain equals the ledger."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.chain.abi import event_topic
from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.execution.proxy_settlement import SETTLED_TOPIC, copy_chain_id
from polyhunter.ports.store import NewCopy
from polyhunter.secretbox import SecretBox
from polyhunter.sim.custody_rig import CustodyRig
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import SettlementStatus, WalletKind
from polyhunter.store.models import CopyTrade
from polyhunter.store.models.settlement import SettlementRow
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.settlements import NewSettlement, SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
USDC = 1_000_000
DEPOSIT = 500 * USDC
ROOT = Path(__file__).resolve().parents[2]
ALREADY_SETTLED_TOPIC = event_topic("AlreadySettled(bytes32)")


@dataclass(frozen=True, slots=True)
class Seeded:
    proxy: str
    user_id: int
    worker_ids: list[int]
    sells: int  # every fourth copy is a SELL (proceeds from the worker to the proxy)


def _buy_cost(i: int) -> int:
    return USDC + i


def _fee(i: int) -> int:
    return 5_000 + i


def is_sell(i: int, with_sells: bool) -> bool:
    return with_sells and i % 4 == 3


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    box: SecretBox,
    chain: CustodyRig,
    copies: int,
    *,
    with_sells: bool = False,
) -> Seeded:
    proxy = await chain.create_proxy("0x" + secrets.token_hex(20))
    await chain.mint(proxy, DEPOSIT)
    worker_ids = []
    for _ in range(2):
        worker = await chain.add_worker(100 * USDC if with_sells else 0)
        await chain.mint(worker.sender.address, 0, int(TOKEN), 1_000 * USDC)
        async with unit_of_work(sessions) as session:
            wid = await WalletRepository(session, box).create(
                worker.sender.address, WalletKind.FLEET, private_key=worker.key
            )
            await SettlementRepository(session).add_worker(wid, 10**12)
        worker_ids.append(wid)
    async with unit_of_work(sessions) as session:
        user_id = await UserRepository(session).create("settled-" + secrets.token_hex(4))
        cfg = CopyConfig(
            0, 0, user_id, "0x" + "77" * 20, SizingMode.FIXED_USDC, Decimal(1), CustodyMode.PROXY
        )
        stored = (await CopyConfigRepository(session).create(cfg)).config
    store, now = SqlCopyStore(sessions), datetime.now(UTC)
    for i in range(copies):
        side = Side.SELL if is_sell(i, with_sells) else Side.BUY
        signal = Signal(
            secrets.token_hex(16),
            cfg.leader,
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
        new = NewCopy(stored.id, stored.version, user_id, side, TOKEN, 2 * USDC, 500_000, USDC)
        ids = await store.prewrite(signal, [new], "t", now)
        assert ids
        async with unit_of_work(sessions) as session:
            assert await SettlementRepository(session).enqueue(
                NewSettlement(
                    next(iter(ids.values())),
                    user_id,
                    proxy,
                    worker_ids[i % 2],
                    side,
                    TOKEN,
                    0 if side is Side.SELL else 2 * USDC,  # a SELL's shares were pulled before it sold
                    _buy_cost(i),
                    _fee(i),
                    filled_price_micro=500_000,
                ),
                now,
            )
    return Seeded(proxy, user_id, worker_ids, sum(1 for i in range(copies) if is_sell(i, with_sells)))


def start_settler(
    db_url: str, rpc_url: str, executor: str, collateral: str, key: str
) -> subprocess.Popen[str]:
    """``tests.support.settle_process`` in its own interpreter; it prints ``ready`` once running."""
    env = {**os.environ, "POLYHUNTER_TEST_MASTER_KEY": key}
    return subprocess.Popen(  # noqa: S603 - our own test process
        [sys.executable, "-m", "tests.support.settle_process", db_url, rpc_url, executor, collateral],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


async def settled_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessions) as session:
        n = await session.scalar(select(func.count()).where(SettlementRow.status == SettlementStatus.SETTLED))
    return int(n or 0)


async def check_settled_once(
    sessions: async_sessionmaker[AsyncSession], chain: CustodyRig, seeded: Seeded, copies: int
) -> dict[str, int]:
    """Every copy EXECUTED, one ``Settled`` event per copy id, no debt, and the chain equals the ledger to
    the base unit. Returns the executor's events by name (``Settled``, ``AlreadySettled``)."""
    d = chain.deployment
    with_sells = seeded.sells > 0
    async with unit_of_work(sessions) as session:
        states = list(
            await session.scalars(select(CopyTrade.state).where(CopyTrade.user_id == seeded.user_id))
        )
        rows = list(
            await session.scalars(select(SettlementRow).where(SettlementRow.user_id == seeded.user_id))
        )
        ledger = await SettlementRepository(session).ledger(seeded.user_id)
    assert len(states) == copies
    assert set(states) == {"EXECUTED"}
    logs = await chain.rpc.get_logs(
        from_block=0, to_block="latest", addresses=[d.executor], topics=[SETTLED_TOPIC]
    )
    per_copy = Counter(str(entry["topics"][1]) for entry in logs)
    assert set(per_copy) == {"0x" + copy_chain_id("polyhunter", r.copy_trade_id).hex() for r in rows}
    assert set(per_copy.values()) == {1}
    buys = [i for i in range(copies) if not is_sell(i, with_sells)]
    sells = [i for i in range(copies) if is_sell(i, with_sells)]
    assert ledger.open_debt_micro == 0
    assert ledger.reimbursed_micro == sum(_buy_cost(i) for i in buys)
    assert ledger.proceeds_micro == sum(_buy_cost(i) for i in sells)
    assert ledger.commission_micro == sum(_fee(i) for i in range(copies))
    assert await chain.usdc(seeded.proxy) == (
        DEPOSIT - ledger.reimbursed_micro + ledger.proceeds_micro - ledger.commission_micro
    )
    assert await chain.usdc(d.treasury) == ledger.commission_micro
    assert await chain.shares(seeded.proxy, int(TOKEN)) == len(buys) * 2 * USDC
    already = await chain.rpc.get_logs(
        from_block=0, to_block="latest", addresses=[d.executor], topics=[ALREADY_SETTLED_TOPIC]
    )
    return {"Settled": len(logs), "AlreadySettled": len(already)}
