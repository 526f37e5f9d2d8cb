"""Settlement of PROXY copies on chain: the flush loop (many copies in one ``PolyHunterExecutor.settle``
transaction per worker), DB-backed retries with backoff, debts when a proxy cannot pay, and their recovery.
DIRECT copies' commissions go the same way (``commission_only`` rows: an item with no shares and no
collateral, only the fee from the proxy to the treasury, through the same allowlisted ``transfer``).

Exactly once: the executor contract settles a copy id at most once and emits ``Settled`` with what moved;
the store is written from those events. A batch whose outcome was lost (a SIGKILL between sending and
recording, a replaced or re-orged transaction) is found on chain by its copy ids before anything is sent
again, and a copy sent twice is skipped by the contract. One batch is in flight at a time, so planning a
proxy's balance never races another batch (the queue per proxy).

Several processes may run a settlement loop on the same database (engines side by side): a round runs only
while its process holds the settlement lock (``store/round_lock.py``: a PostgreSQL advisory lock, or a file
lock beside a SQLite database), so one process at a time settles, SUBMITTED rows found under the lock are
truly lost (their process died), and the workers' nonces are read again from the node at each round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import decode, event_topic, keccak256
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError
from polyhunter.domain.signal import Side
from polyhunter.execution.tx_monitor import TxMonitor, TxRevertedError, WorkerSender
from polyhunter.log import get_logger
from polyhunter.store.database import engine_of, unit_of_work
from polyhunter.store.models.settlement import SettlementRow
from polyhunter.store.repos.settlements import Paid, SettlementRepository, debt_parts
from polyhunter.store.round_lock import RoundLock
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

SETTLED_TOPIC = event_topic(cc.SETTLED_EVENT)
_GAS_BASE = 80_000
_GAS_PER_ITEM = 120_000


def copy_chain_id(namespace: str, copy_trade_id: int) -> bytes:
    """The 32-byte id a copy is settled under on chain (``namespace`` keeps deployments apart)."""
    return keccak256(f"{namespace}:copy:{copy_trade_id}".encode())


def debt_chain_id(namespace: str, debt_id: int) -> bytes:
    return keccak256(f"{namespace}:debt:{debt_id}".encode())


@dataclass(frozen=True, slots=True)
class SettlerConfig:
    executor: str
    collateral: str
    namespace: str = "polyhunter"
    batch_max: int = 50
    flush_interval_s: float = 2.0
    cap_micro: int = 500_000_000  # a proxy owing this much is flushed at once, not at the next interval
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    confirm_timeout_s: float = 120.0
    from_block: int = 0  # where Settled events are searched from


@dataclass(slots=True)
class SettlerMetrics:
    batches: int = 0
    settled: int = 0
    recovered_from_chain: int = 0  # settled before, found by copy id (a lost outcome)
    retries: int = 0
    debts_opened: int = 0
    debts_recovered: int = 0
    lock_busy: int = 0  # rounds skipped: another process was settling
    gas_used: int = 0
    settled_copies_gas: list[tuple[int, int]] = field(default_factory=list)  # (copies, gas) per batch


class ProxySettler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rpc: JsonRpcClient,
        monitor: TxMonitor,
        workers: Mapping[int, WorkerSender],  # fleet wallet id -> its sender
        config: SettlerConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock: RoundLock | None = None,
    ) -> None:
        self._sessions = sessions
        self._lock = lock or RoundLock(engine_of(sessions), f"settlement:{config.namespace}")
        self._rpc = rpc
        self._monitor = monitor
        self._workers = dict(workers)
        self.config = config
        self._clock = clock
        self.metrics = SettlerMetrics()
        self.queue: tuple[int, float, int] = (0, 0.0, 0)  # depth, lag of the oldest (s), its retries
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A copy was queued past the cap: flush now."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            ran = True
            try:
                ran = await self.round()
            except Exception as exc:  # noqa: BLE001 - the next round retries; rows keep their state
                log.warning("settlement.round_failed", error=str(exc))
            # another process settles: ask for the lock again soon, whatever the interval
            wait_s = self.config.flush_interval_s if ran else min(self.config.flush_interval_s, 0.5)
            try:
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def round(self) -> bool:
        """Flush every due batch and collect what debts can be; False if another process holds the lock."""
        async with self._lock.try_hold() as mine:
            if not mine:
                self.metrics.lock_busy += 1
                await self.read_queue()
                return False
            for sender in self._workers.values():  # another process may have sent from them since
                await sender.forget_nonce()
            while await self.flush_once():
                pass
            await self.recover_debts_once()
            await self.read_queue()
            return True

    async def read_queue(self) -> tuple[int, float, int]:
        async with unit_of_work(self._sessions) as session:
            self.queue = await SettlementRepository(session).queue_stats(self._clock())
        return self.queue

    # --- chain reads ------------------------------------------------------------------------------------

    async def balance(self, who: str) -> int:
        return cc.decode_uint(await self._rpc.call_contract(self.config.collateral, cc.erc20_balance_of(who)))

    async def settled_on_chain(self, chain_ids: Sequence[bytes]) -> dict[bytes, Paid]:
        """``Settled`` events of these copy ids: what each moved (collateral, fee)."""
        found: dict[bytes, Paid] = {}
        for start in range(0, len(chain_ids), 100):
            chunk = ["0x" + c.hex() for c in chain_ids[start : start + 100]]
            logs = await self._rpc.get_logs(
                from_block=self.config.from_block,
                to_block="latest",
                addresses=[self.config.executor],
                topics=[SETTLED_TOPIC, chunk],
            )
            for entry in logs:
                copy_id = bytes.fromhex(str(entry["topics"][1])[2:])
                _side, _token, _shares, collateral, fee = decode(
                    ["uint8", "uint256", "uint256", "uint256", "uint256"],
                    bytes.fromhex(str(entry["data"])[2:]),
                )
                assert isinstance(collateral, int)
                assert isinstance(fee, int)
                found[copy_id] = Paid(collateral, fee)
        return found

    # --- the flush --------------------------------------------------------------------------------------

    async def flush_once(self) -> bool:
        """Settle one batch of due copies (one worker's). True if there may be more to do now."""
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            due = await SettlementRepository(session).due(
                now, self.config.batch_max * max(len(self._workers), 1)
            )
            submitted = await SettlementRepository(session).submitted()
        if submitted:  # a batch whose outcome was not recorded (this process was killed while it ran)
            await self._resolve_lost(submitted)
            return True
        if not due:
            return False
        due = await self._drop_settled(due)
        if not due:
            return True
        worker_id = due[0].worker_wallet_id
        batch = [row for row in due if row.worker_wallet_id == worker_id][: self.config.batch_max]
        sender = self._workers.get(worker_id)
        if sender is None:
            await self._reschedule(batch, f"no key loaded for fleet wallet {worker_id}")
            return len(due) > len(batch)
        await self._settle_batch(sender, batch)
        return True

    async def _drop_settled(self, rows: list[SettlementRow]) -> list[SettlementRow]:
        """Rows whose copy is already settled on chain are recorded from its events and left out."""
        ids = {copy_chain_id(self.config.namespace, r.copy_trade_id): r for r in rows}
        onchain = await self.settled_on_chain(list(ids))
        if not onchain:
            return rows
        done = [ids[c] for c in onchain]
        await self._record(done, {r.id: onchain[c] for c, r in ids.items() if c in onchain}, "recovered")
        self.metrics.recovered_from_chain += len(done)
        return [r for r in rows if copy_chain_id(self.config.namespace, r.copy_trade_id) not in onchain]

    async def _resolve_lost(self, rows: list[SettlementRow]) -> None:
        remaining = await self._drop_settled(rows)
        if remaining:  # never mined (or dropped): back to the queue; the contract skips any sent twice
            await self._reschedule(remaining, "outcome lost; not settled on chain")

    async def _plan(self, batch: Sequence[SettlementRow]) -> list[cc.Settlement]:
        """Each item at what its proxy can pay now, in order: a BUY's cost first, then the commission."""
        balances = {p: await self.balance(p) for p in {r.proxy_address for r in batch}}
        items = []
        for row in batch:
            bal = balances[row.proxy_address]
            shares = row.shares_micro
            if row.commission_only:  # DIRECT: the exchange moved the fill; only the commission moves
                pay = shares = 0
            elif row.side == Side.BUY:
                pay = min(row.collateral_micro, bal)
                bal -= pay
            else:
                pay = row.collateral_micro
                bal += pay
            fee = min(row.fee_micro, bal)
            balances[row.proxy_address] = bal - fee
            side = cc.SettleSide.BUY if row.side == Side.BUY else cc.SettleSide.SELL
            items.append(
                cc.Settlement(
                    copy_chain_id(self.config.namespace, row.copy_trade_id),
                    row.proxy_address,
                    side,
                    int(row.asset),
                    shares,
                    pay,
                    fee,
                )
            )
        return items

    async def _send(
        self, sender: WorkerSender, items: Sequence[cc.Settlement]
    ) -> tuple[str, dict[str, object]]:
        data = cc.settle(items)
        try:
            estimate = int(
                await self._rpc.call(
                    "eth_estimateGas",
                    [{"from": sender.address, "to": self.config.executor, "data": "0x" + data.hex()}],
                ),
                16,
            )
            gas = estimate * 13 // 10
        except RpcError as exc:
            if "revert" in exc.message.lower():
                raise
            gas = _GAS_BASE + _GAS_PER_ITEM * len(items)
        tracked = await self._monitor.send(sender, self.config.executor, data, gas)
        receipt = await self._monitor.confirmed(tracked, self.config.confirm_timeout_s)
        return str(receipt.get("transactionHash")), receipt

    async def _settle_batch(self, sender: WorkerSender, batch: list[SettlementRow]) -> None:
        items = await self._plan(batch)
        self.metrics.batches += 1
        try:
            async with unit_of_work(self._sessions) as session:
                await SettlementRepository(session).mark_submitted([r.id for r in batch], "pending")
            tx_hash, receipt = await self._send(sender, items)
        except (RpcError, TxRevertedError, TimeoutError) as exc:
            log.warning("settlement.batch_failed", copies=len(batch), error=str(exc))
            await self._resolve_lost_or_retry(batch, str(exc))
            return
        gas_used = int(str(receipt.get("gasUsed", "0x0")), 16)
        self.metrics.gas_used += gas_used
        self.metrics.settled_copies_gas.append((len(batch), gas_used))
        ids = {copy_chain_id(self.config.namespace, r.copy_trade_id): r for r in batch}
        onchain = await self.settled_on_chain(list(ids))
        settled = [r for c, r in ids.items() if c in onchain]
        await self._record(settled, {r.id: onchain[c] for c, r in ids.items() if c in onchain}, tx_hash)
        missing = [r for c, r in ids.items() if c not in onchain]
        if missing:
            await self._reschedule(missing, "confirmed batch without its Settled event")

    async def _resolve_lost_or_retry(self, batch: list[SettlementRow], error: str) -> None:
        remaining = await self._drop_settled(batch)
        if remaining:
            await self._reschedule(remaining, error)

    async def _record(self, rows: Sequence[SettlementRow], paid: Mapping[int, Paid], tx_hash: str) -> None:
        if not rows:
            return
        async with unit_of_work(self._sessions) as session:
            repo = SettlementRepository(session)
            done = await repo.mark_settled(rows, paid, tx_hash, self._clock())
        self.metrics.settled += done
        self.metrics.debts_opened += sum(1 for r in rows if sum(_short(r, paid[r.id])) > 0)

    async def _reschedule(self, rows: Sequence[SettlementRow], error: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await SettlementRepository(session).reschedule(
                [r.id for r in rows], error, self._clock(), self.config.retry_base_s, self.config.retry_max_s
            )
        self.metrics.retries += len(rows)

    # --- debts --------------------------------------------------------------------------------------------

    async def recover_debts_once(self) -> int:
        """Collect each open debt whose proxy can now pay it in full (one transaction per debt)."""
        async with unit_of_work(self._sessions) as session:
            debts = await SettlementRepository(session).open_debts()
        recovered = 0
        for debt, row in debts:
            worker_part, fee_part = debt_parts(row)
            chain_id = debt_chain_id(self.config.namespace, debt.id)
            tx_hash = "recovered"
            if chain_id not in await self.settled_on_chain([chain_id]):  # not collected before a restart
                sender = self._workers.get(row.worker_wallet_id)
                if sender is None or await self.balance(row.proxy_address) < worker_part + fee_part:
                    continue
                item = cc.Settlement(
                    chain_id, row.proxy_address, cc.SettleSide.BUY, int(row.asset), 0, worker_part, fee_part
                )
                try:
                    tx_hash, _ = await self._send(sender, [item])
                except (RpcError, TxRevertedError, TimeoutError) as exc:
                    log.warning("settlement.debt_recovery_failed", debt=debt.id, error=str(exc))
                    continue
            async with unit_of_work(self._sessions) as session:
                if await SettlementRepository(session).recover_debt(debt, row, tx_hash, self._clock()):
                    recovered += 1
        self.metrics.debts_recovered += recovered
        return recovered


def _short(row: SettlementRow, paid: Paid) -> tuple[int, int]:
    reimbursed = row.side == Side.BUY and not row.commission_only
    worker = row.collateral_micro - paid.collateral_micro if reimbursed else 0
    return max(worker, 0), max(row.fee_micro - paid.fee_micro, 0)


class SettlementCollector(Collector):
    """``/metrics``: the settlement queue (depth, lag, retries), batches, debts, and the worker transactions."""

    def __init__(self, settler: ProxySettler, monitor: TxMonitor) -> None:
        self._settler = settler
        self._monitor = monitor

    def collect(self) -> Iterator[Metric]:
        depth, lag, pending_retries = self._settler.queue
        m, t = self._settler.metrics, self._monitor.metrics
        yield GaugeMetricFamily(
            "polyhunter_settlement_queue_depth", "PROXY copies not settled yet", value=depth
        )
        yield GaugeMetricFamily(
            "polyhunter_settlement_queue_lag_seconds", "Age of the oldest unsettled copy", value=lag
        )
        yield GaugeMetricFamily(
            "polyhunter_settlement_queue_retries",
            "Retries so far of the unsettled copies",
            value=pending_retries,
        )
        counters = {
            "polyhunter_settlement_batches": ("Settlement transactions sent", m.batches),
            "polyhunter_settlement_settled": ("Copies settled", m.settled),
            "polyhunter_settlement_retries": ("Copies put back in the queue", m.retries),
            "polyhunter_settlement_recovered_from_chain": (
                "Copies found settled on chain after a lost outcome",
                m.recovered_from_chain,
            ),
            "polyhunter_settlement_debts_opened": ("Debts left by a short proxy", m.debts_opened),
            "polyhunter_settlement_debts_recovered": ("Debts collected", m.debts_recovered),
            "polyhunter_settlement_gas": ("Gas used by settlement transactions", m.gas_used),
            "polyhunter_settlement_lock_busy": (
                "Settlement rounds skipped: another process held the settlement lock",
                m.lock_busy,
            ),
            "polyhunter_worker_tx_sent": ("Fleet worker transactions sent", t.sent),
            "polyhunter_worker_tx_replaced": ("Stuck transactions replaced at a higher fee", t.replaced),
            "polyhunter_worker_tx_reorg_resent": (
                "Transactions sent again after a re-org",
                t.resent_after_reorg,
            ),
            "polyhunter_worker_tx_confirmed": ("Transactions confirmed", t.confirmed),
            "polyhunter_worker_tx_reverted": ("Transactions mined and reverted", t.reverted),
        }
        for name, (doc, value) in counters.items():
            yield CounterMetricFamily(name, doc, value=value)
