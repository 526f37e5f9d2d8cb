"""PROXY settlement on anvil with a real store: batched settlement by several fleet workers, the ledger
reconciling with the chain to the base unit, a lost outcome recovered from the chain without settling twice,
and a debt when the proxy is short, collected after a deposit."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode, function_selector
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.commission import FeeSchedule
from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.execution.proxy_settlement import ProxySettler, SettlerConfig
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.custody_deploy import CustodyDeployment, deploy_custody, send
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import DebtStatus, SettlementStatus, WalletKind
from polyhunter.store.models import CopyTrade, DebtRecord
from polyhunter.store.models.settlement import CommissionLog, SettlementRow
from polyhunter.store.repos.settlements import NewSettlement, SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.store_factories import ASSET, new_config, new_copy, new_key, signal_with_key

pytestmark = pytest.mark.integration

USDC = 1_000_000
TOKEN = int(ASSET)
FEES = FeeSchedule(fee_bps=50, profit_share_bps=1_000)


@dataclass
class Stack:
    rpc: JsonRpcClient
    d: CustodyDeployment
    sessions: async_sessionmaker[AsyncSession]
    store: SqlCopyStore
    proxy: str
    user_id: int
    stored: object
    workers: dict[int, WorkerSender]
    monitor: TxMonitor


async def _call(rpc: JsonRpcClient, to: str, data: bytes) -> bytes:
    return await rpc.call_contract(to, data)


async def usdc(stack: Stack, who: str) -> int:
    return cc.decode_uint(await _call(stack.rpc, stack.d.collateral, cc.erc20_balance_of(who)))


async def shares(stack: Stack, who: str) -> int:
    return cc.decode_uint(await _call(stack.rpc, stack.d.ctf, cc.erc1155_balance_of(who, TOKEN)))


async def mint(stack: Stack, to: str, amount: int = 0, token_amount: int = 0) -> None:
    if amount:
        data = function_selector("mint(address,uint256)") + encode(["address", "uint256"], [to, amount])
        await send(stack.rpc, stack.d.admin, stack.d.collateral, data)
    if token_amount:
        data = function_selector("mint(address,uint256,uint256)") + encode(
            ["address", "uint256", "uint256"], [to, TOKEN, token_amount]
        )
        await send(stack.rpc, stack.d.admin, stack.d.ctf, data)


async def worker_tx(stack: Stack, worker: WorkerSender, to: str, data: bytes) -> None:
    tracked = await stack.monitor.send(worker, to, data, 500_000)
    receipt = await stack.monitor.confirmed(tracked, 30)
    assert receipt["status"] == "0x1"


@pytest.fixture
async def stack(anvil_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    sessions = create_session_factory(engine)
    box = SecretBox(generate_master_key())
    async with JsonRpcClient(anvil_url) as rpc:
        d = await deploy_custody(rpc)
        owner = (await rpc.accounts())[1].lower()
        await send(rpc, d.admin, d.factory, cc.create_proxy(owner))
        proxy = cc.decode_address(await rpc.call_contract(d.factory, cc.proxy_of(owner)))
        monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
        poller = asyncio.create_task(monitor.run())
        workers: dict[int, WorkerSender] = {}
        async with unit_of_work(sessions) as session:
            stored = await new_config(session)
            await WalletRepository(session, box).create(
                proxy, WalletKind.PROXY, user_id=stored.config.user_id
            )
        chain_id = await rpc.chain_id()
        for _ in range(3):
            key = "0x" + secrets.token_hex(32)
            sender = WorkerSender(rpc, TxSigner(key, chain_id))
            async with unit_of_work(sessions) as session:
                wallet_id = await WalletRepository(session, box).create(
                    sender.address, WalletKind.FLEET, private_key=key
                )
                await SettlementRepository(session).add_worker(wallet_id, 1_000 * USDC)
            workers[wallet_id] = sender
            await rpc.call("anvil_setBalance", [sender.address, hex(10**20)])
            await send(rpc, d.admin, d.executor, cc.set_worker(sender.address, True))
        s = Stack(
            rpc, d, sessions, SqlCopyStore(sessions), proxy, stored.config.user_id, stored, workers, monitor
        )
        for sender in workers.values():
            await worker_tx(s, sender, d.ctf, cc.erc1155_set_approval_for_all(d.executor, True))
            await worker_tx(s, sender, d.collateral, cc.erc20_approve(d.executor, 2**256 - 1))
            await mint(s, sender.address, 100 * USDC, 100 * USDC)  # float, and shares the CLOB delivered
        try:
            yield s
        finally:
            poller.cancel()
            await engine.dispose()


def settler(stack: Stack, retry_base_s: float = 0.0) -> ProxySettler:
    config = SettlerConfig(
        executor=stack.d.executor, collateral=stack.d.collateral, batch_max=4, retry_base_s=retry_base_s
    )
    return ProxySettler(stack.sessions, stack.rpc, stack.monitor, stack.workers, config)


async def queue_copy(
    stack: Stack, worker_id: int, side: Side, shares_micro: int, collateral_micro: int
) -> int:
    """A copy filled by ``worker_id`` and queued for settlement, with its commission per the schedule."""
    now = datetime.now(UTC)
    copy_ids = await stack.store.prewrite(signal_with_key(new_key()), [new_copy(stack.stored)], "t", now)  # type: ignore[arg-type]
    assert copy_ids
    copy_id = next(iter(copy_ids.values()))
    async with unit_of_work(stack.sessions) as session:
        repo = SettlementRepository(session)
        fee = FEES.on_notional(collateral_micro)
        basis = None
        if side == Side.SELL:
            basis = (await repo.position(stack.user_id, ASSET)).cost_of(shares_micro)
            fee += FEES.on_profit(collateral_micro, basis)
        new = NewSettlement(
            copy_id,
            stack.user_id,
            stack.proxy,
            worker_id,
            side,
            ASSET,
            shares_micro,
            collateral_micro,
            fee,
            basis,
        )
        assert await repo.enqueue(new, now)
    return copy_id


async def drain(s: ProxySettler) -> None:
    while await s.flush_once():
        pass


async def states(stack: Stack) -> dict[str, int]:
    async with unit_of_work(stack.sessions) as session:
        rows = await session.execute(
            select(CopyTrade.state, func.count())
            .where(CopyTrade.user_id == stack.user_id)
            .group_by(CopyTrade.state)
        )
        return {str(state): int(n) for state, n in rows}


async def reconcile(stack: Stack, deposits: int, worker_start: int) -> None:
    """Chain balances of the proxy, each worker and the treasury equal what the store says, to the base unit."""
    async with unit_of_work(stack.sessions) as session:
        repo = SettlementRepository(session)
        ledger = await repo.ledger(stack.user_id)
        rows = list(await session.scalars(select(SettlementRow)))
    assert (
        await usdc(stack, stack.proxy)
        == deposits - ledger.reimbursed_micro + ledger.proceeds_micro - ledger.commission_micro
    )
    assert await usdc(stack, stack.d.treasury) == ledger.commission_micro
    for wallet_id, sender in stack.workers.items():
        mine = [r for r in rows if r.worker_wallet_id == wallet_id]
        got = sum((r.paid_collateral_micro or 0) for r in mine if r.side == Side.BUY)
        gave = sum((r.paid_collateral_micro or 0) for r in mine if r.side == Side.SELL)
        assert await usdc(stack, sender.address) == worker_start + got - gave, sender.address


async def test_batched_settlement_by_several_workers_reconciles_to_the_base_unit(stack: Stack) -> None:
    await mint(stack, stack.proxy, 200 * USDC)
    worker_ids = list(stack.workers)
    buys = [
        await queue_copy(stack, worker_ids[i % 3], Side.BUY, 10 * USDC + i, 5 * USDC + 7 * i)
        for i in range(10)
    ]
    s = settler(stack)
    await drain(s)
    assert await states(stack) == {"EXECUTED": 10}
    assert s.metrics.batches >= 3
    assert s.metrics.settled == 10
    # SELLs: the worker first pulls the proxy's shares, sells them on the CLOB, settlement pays the proceeds
    for i in range(10):
        sender = stack.workers[worker_ids[i % 3]]
        await worker_tx(stack, sender, stack.d.executor, cc.pull_shares(stack.proxy, TOKEN, 4 * USDC))
        await queue_copy(stack, worker_ids[i % 3], Side.SELL, 4 * USDC, 3 * USDC + 11 * i)
    await drain(s)
    assert await states(stack) == {"EXECUTED": 20}
    assert len(buys) == 10
    await reconcile(stack, 200 * USDC, 100 * USDC)
    assert await shares(stack, stack.proxy) == sum(10 * USDC + i for i in range(10)) - 40 * USDC
    async with unit_of_work(stack.sessions) as session:
        ledger = await SettlementRepository(session).ledger(stack.user_id)
    assert ledger.open_debt_micro == 0
    assert ledger.queued == 0
    assert ledger.commission_micro > sum(
        FEES.on_notional(5 * USDC + 7 * i) for i in range(10)
    )  # + profit share


async def test_a_lost_outcome_is_found_on_chain_and_never_settled_twice(stack: Stack) -> None:
    await mint(stack, stack.proxy, 50 * USDC)
    worker_id = next(iter(stack.workers))
    for i in range(3):
        await queue_copy(stack, worker_id, Side.BUY, 2 * USDC, USDC + i)
    crashing = settler(stack)

    async def killed(*_: object) -> None:
        raise SystemExit("killed between the chain and the store")

    crashing._record = killed  # type: ignore[method-assign,assignment]
    with pytest.raises(SystemExit):
        await crashing.flush_once()
    async with unit_of_work(stack.sessions) as session:
        assert [r.status for r in await session.scalars(select(SettlementRow))] == [
            SettlementStatus.SUBMITTED
        ] * 3
    proxy_after = await usdc(stack, stack.proxy)
    assert proxy_after == 50 * USDC - 3 * USDC - 3 - sum(FEES.on_notional(USDC + i) for i in range(3))
    restarted = settler(stack)
    await drain(restarted)
    assert restarted.metrics.recovered_from_chain == 3
    assert restarted.metrics.batches == 0  # nothing sent again
    assert await usdc(stack, stack.proxy) == proxy_after
    assert await states(stack) == {"EXECUTED": 3}
    await reconcile(stack, 50 * USDC, 100 * USDC)


async def test_a_batch_that_was_never_sent_is_retried(stack: Stack) -> None:
    await mint(stack, stack.proxy, 10 * USDC)
    worker_id = next(iter(stack.workers))
    await queue_copy(stack, worker_id, Side.BUY, USDC, USDC)
    async with unit_of_work(stack.sessions) as session:  # killed after marking, before sending
        rows = await SettlementRepository(session).due(datetime.now(UTC), 10)
        await SettlementRepository(session).mark_submitted([r.id for r in rows], "pending")
    s = settler(stack)
    await drain(s)
    assert await states(stack) == {"EXECUTED": 1}
    assert s.metrics.retries == 1
    assert s.metrics.settled == 1
    await reconcile(stack, 10 * USDC, 100 * USDC)


async def test_a_short_proxy_leaves_a_debt_collected_after_a_deposit(stack: Stack) -> None:
    await mint(stack, stack.proxy, USDC)
    worker_id = next(iter(stack.workers))
    await queue_copy(stack, worker_id, Side.BUY, 8 * USDC, 5 * USDC)
    s = settler(stack)
    await drain(s)
    assert await states(stack) == {"EXECUTED": 1}  # the shares are the user's; the money is owed
    async with unit_of_work(stack.sessions) as session:
        debts = list(await session.scalars(select(DebtRecord)))
        in_use = await SettlementRepository(session).float_in_use()
    assert [(d.amount_micro, d.status) for d in debts] == [
        (4 * USDC + FEES.on_notional(5 * USDC), DebtStatus.OPEN)
    ]
    assert in_use[worker_id] == 4 * USDC + FEES.on_notional(5 * USDC)
    assert await usdc(stack, stack.proxy) == 0
    await reconcile(stack, USDC, 100 * USDC)
    assert await s.recover_debts_once() == 0  # still nothing to collect
    await mint(stack, stack.proxy, 10 * USDC)  # the user deposits
    assert await s.recover_debts_once() == 1
    assert await s.recover_debts_once() == 0  # collected once
    async with unit_of_work(stack.sessions) as session:
        assert [d.status for d in await session.scalars(select(DebtRecord))] == [DebtStatus.RECOVERED]
        assert (await SettlementRepository(session).ledger(stack.user_id)).open_debt_micro == 0
    await reconcile(stack, 11 * USDC, 100 * USDC)
    assert await usdc(stack, stack.d.treasury) == FEES.on_notional(5 * USDC)
    assert await usdc(stack, stack.proxy) == 11 * USDC - 5 * USDC - FEES.on_notional(5 * USDC)


async def test_a_paused_proxy_keeps_its_copies_queued_with_backoff(stack: Stack) -> None:
    await mint(stack, stack.proxy, 10 * USDC)
    owner = (await stack.rpc.accounts())[1]
    await send(stack.rpc, owner, stack.proxy, cc.proxy_set_paused(True))
    worker_id = next(iter(stack.workers))
    await queue_copy(stack, worker_id, Side.BUY, USDC, USDC)
    s = settler(stack, retry_base_s=60.0)
    await drain(s)
    async with unit_of_work(stack.sessions) as session:
        (row,) = list(await session.scalars(select(SettlementRow)))
    assert (row.status, row.retry_count) == (SettlementStatus.QUEUED, 1)
    assert row.next_retry_at is not None
    assert "paused" in (row.last_error or "").lower()
    assert await states(stack) == {"SETTLEMENT_PENDING": 1}
    assert await usdc(stack, stack.proxy) == 10 * USDC


async def test_direct_commissions_settle_in_one_batch_and_a_short_proxy_owes_only_the_commission(
    stack: Stack,
) -> None:
    """DIRECT copies (the exchange settled their fills from the proxy): only each copy's commission moves,
    proxy -> treasury, several copies in one transaction; no shares and no collateral move between a
    worker and the proxy, no float is in use; a proxy short of a commission owes just that, collected once
    funds arrive."""
    fee = FEES.on_notional(5 * USDC)
    await mint(stack, stack.proxy, 2 * fee)  # two of the three commissions
    worker_id = next(iter(stack.workers))
    worker = stack.workers[worker_id].address
    worker_before, shares_before = await usdc(stack, worker), await shares(stack, worker)
    now = datetime.now(UTC)
    copies = []
    for _ in range(3):
        copy_ids = await stack.store.prewrite(signal_with_key(new_key()), [new_copy(stack.stored)], "t", now)  # type: ignore[arg-type]
        assert copy_ids
        copy_id = next(iter(copy_ids.values()))
        copies.append(copy_id)
        async with unit_of_work(stack.sessions) as session:
            new = NewSettlement(
                copy_id,
                stack.user_id,
                stack.proxy,
                worker_id,
                Side.BUY,
                ASSET,
                10 * USDC,
                5 * USDC,
                fee,
                commission_only=True,
            )
            assert await SettlementRepository(session).enqueue_commission(new, now)
            assert not await SettlementRepository(session).enqueue_commission(new, now)  # once per copy
    async with unit_of_work(stack.sessions) as session:
        repo = SettlementRepository(session)
        assert await repo.float_in_use() == {}
        assert await repo.unsettled_buy_cost(stack.user_id) == 3 * fee
    s = settler(stack)
    await drain(s)
    assert s.metrics.batches == 0  # the engine has not recorded the fills yet: the commissions wait
    async with unit_of_work(stack.sessions) as session:  # the engine records each copy's fill
        await session.execute(
            update(CopyTrade)
            .where(CopyTrade.id.in_(copies))
            .values(
                state=CopyTradeState.EXECUTED, filled_size_micro=10 * USDC, filled_notional_micro=5 * USDC
            )
        )
    await drain(s)
    assert s.metrics.batches == 1  # three copies, one transaction
    async with unit_of_work(stack.sessions) as session:
        rows = list(await session.scalars(select(SettlementRow).order_by(SettlementRow.id)))
        debts = list(await session.scalars(select(DebtRecord)))
        logged = list(await session.scalars(select(CommissionLog).order_by(CommissionLog.id)))
    assert [(c.copy_trade_id, c.basis_micro) for c in logged] == [(c, 5 * USDC) for c in copies[:2]]
    assert [(r.status, r.paid_collateral_micro, r.paid_fee_micro) for r in rows] == [
        (SettlementStatus.SETTLED, 0, fee),
        (SettlementStatus.SETTLED, 0, fee),
        (SettlementStatus.SETTLED, 0, 0),
    ]
    assert [(d.amount_micro, d.status) for d in debts] == [(fee, DebtStatus.OPEN)]
    assert await usdc(stack, stack.d.treasury) == 2 * fee
    assert (await usdc(stack, worker), await shares(stack, worker)) == (worker_before, shares_before)
    await mint(stack, stack.proxy, USDC)
    assert await s.recover_debts_once() == 1
    assert await usdc(stack, stack.d.treasury) == 3 * fee
    assert await usdc(stack, stack.proxy) == USDC - fee
    assert (await usdc(stack, worker), await shares(stack, worker)) == (worker_before, shares_before)
    async with unit_of_work(stack.sessions) as session:
        ledger = await SettlementRepository(session).ledger(stack.user_id)
    assert (ledger.reimbursed_micro, ledger.commission_micro, ledger.open_debt_micro) == (0, 3 * fee, 0)
