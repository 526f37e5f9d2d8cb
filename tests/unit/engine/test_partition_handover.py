"""Two engines ("workers") sharing one store and one coordinator: what one of them moved (a breaker it
opened, a config's exposure) reaches the other when a follower partition moves to it
(engine/handover.py, engine/breakers.py), and the old owner's cached state is dropped on release."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.orders import ExecStatus, ExecutionResult, OrderRequest
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.handover import PartitionHandover
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.ports.store import StoredConfig
from polyhunter.settings import EngineSettings
from tests.support.engine_inputs import paper_config
from tests.support.fake_venue import FakeExecutor, FakeMarketData, a_book, filled
from tests.support.memory_copy_store import MemoryCopyStore

TOKEN = "123"
LEADER = "0x" + "ab" * 20
CONDITION = "0x" + "cd" * 32
USER = 7
COOLDOWN_MS = 400
BREAKER = "GUARDRAIL_CIRCUIT_BREAKER"


class Worker:
    def __init__(self, name: str, store: MemoryCopyStore, coord: MemoryCoordinator) -> None:
        self.refuse = False
        self.executor = FakeExecutor(self._respond)
        limits = GuardrailLimits(Decimal(1000), Decimal(5000), Decimal(100_000))
        self.guard = Guard(coord, limits, 2, COOLDOWN_MS)
        pricer = Pricer(
            FakeMarketData({TOKEN: a_book(TOKEN)}), quote_ttl_ms=500, max_entries=100, fallback_ttl_ms=10_000
        )
        self.engine = CopyEngine(
            store,
            pricer,
            {CustodyMode.PAPER: self.executor},
            self.guard,
            EngineSettings(),
            StageMetrics(),
            name,
            records_signals=True,
        )
        self.reloaded: list[list[int]] = []

        async def reload(users: list[int]) -> None:
            self.reloaded.append(users)

        self.handover = PartitionHandover(self.engine, store, lambda: {USER, USER + 1}, [reload])

    def _respond(self, request: OrderRequest) -> ExecutionResult:
        if self.refuse:
            return ExecutionResult(ExecStatus.REJECTED, error="not enough balance / allowance")
        return filled(request)

    async def copy(self) -> tuple[CopyTradeState, str | None]:
        now = datetime.now(UTC)
        tx = "0x" + secrets.token_hex(32)
        signal = Signal(
            secrets.token_hex(16),
            LEADER,
            TOKEN,
            CONDITION,
            Side.BUY,
            Decimal(100),
            Decimal("0.50"),
            tx,
            now,
            now,
            SourceKind.WS,
        )
        (outcome,) = await self.engine.process_signal(signal)
        return outcome.state, outcome.reason


def mine(user_id: int) -> bool:
    return user_id == USER


def _setup(coord: MemoryCoordinator | None = None) -> tuple[MemoryCopyStore, Worker, Worker, StoredConfig]:
    store, coord = MemoryCopyStore(), coord or MemoryCoordinator()
    stored = store.add_config(StoredConfig(paper_config(USER, LEADER, "5"), None, True))
    return store, Worker("a", store, coord), Worker("b", store, coord), stored


async def test_a_breaker_opened_on_one_worker_stays_open_on_the_next_owner_until_its_cooldown() -> None:
    _, a, b, _ = _setup()
    assert (await b.copy())[0] is CopyTradeState.EXECUTED  # b ran the config once: a closed breaker
    await b.handover.take(mine)
    b.handover.release(mine)  # ... then gave the partition to a
    await a.handover.take(mine)
    a.refuse = True
    assert [(await a.copy())[0] for _ in range(2)] == [CopyTradeState.FAILED] * 2
    assert await a.copy() == (CopyTradeState.SKIPPED, BREAKER)
    opened = time.monotonic()
    a.handover.release(mine)
    await b.handover.take(mine)  # the partition moves back to b: it refuses too
    assert await b.copy() == (CopyTradeState.SKIPPED, BREAKER)
    sent = len(b.executor.sent)
    assert await b.copy() == (CopyTradeState.SKIPPED, BREAKER)
    assert len(b.executor.sent) == sent
    await asyncio.sleep(max(0.0, COOLDOWN_MS / 1000 - (time.monotonic() - opened)) + 0.05)
    assert (await b.copy())[0] is CopyTradeState.EXECUTED  # cooldown over: half-open, one try filled
    assert await b.copy() == (CopyTradeState.EXECUTED, None)
    a.handover.release(mine)
    await a.handover.take(mine)  # a success closed it for everyone
    a.refuse = False
    assert (await a.copy())[0] is CopyTradeState.EXECUTED


async def test_a_taken_partition_reads_exposure_again_and_a_released_one_forgets_it() -> None:
    _, a, b, stored = _setup()
    await a.handover.take(mine)
    await b.handover.take(mine)  # stale: b read the partition before a copied anything
    cid = stored.config.id
    for _ in range(3):
        assert (await a.copy())[0] is CopyTradeState.EXECUTED
    assert a.engine.exposure.get(cid, CONDITION) == Decimal(15)
    assert b.engine.exposure.get(cid, CONDITION) == 0
    a.handover.release(mine)
    assert a.engine.exposure.get(cid, CONDITION) == 0  # released: nothing of it is kept
    assert a.engine.exposure.shares(cid, TOKEN) == 0
    await b.handover.take(mine)
    assert b.engine.exposure.get(cid, CONDITION) == Decimal(15)
    assert b.engine.exposure.shares(cid, TOKEN) == Decimal(30)
    assert b.reloaded[-1] == [USER]  # the executors' state of the partition's followers only
    assert (b.handover.takes, a.handover.releases) == (2, 1)


async def test_an_open_breaker_the_coordinator_lost_is_rebuilt_from_the_stores_failed_copies() -> None:
    coord = MemoryCoordinator()
    _, a, b, _ = _setup(coord)
    await a.handover.take(mine)
    a.refuse = True
    assert [(await a.copy())[0] for _ in range(2)] == [CopyTradeState.FAILED] * 2
    coord.flush()  # Redis restarted empty: the counters and the breakers' keys are gone
    a.handover.release(mine)
    await b.handover.take(mine)
    assert await b.copy() == (CopyTradeState.SKIPPED, BREAKER)
    await asyncio.sleep(COOLDOWN_MS / 1000 + 0.05)
    assert (await b.copy())[0] is CopyTradeState.EXECUTED
    b.handover.release(mine)
    await a.handover.take(mine)  # the last copy filled: nothing to rebuild any more
    a.refuse = False
    assert (await a.copy())[0] is CopyTradeState.EXECUTED


async def test_the_platform_switches_veto_every_copy_before_it_is_sent() -> None:
    """`polyhunter switches` (read by the live sync into the guard): halted, then dry run, then live."""
    _, a, _, _ = _setup()
    a.guard.halted = True
    assert await a.copy() == (CopyTradeState.SKIPPED, "GUARDRAIL_KILL_SWITCH")
    a.guard.halted, a.guard.dry_run = False, True
    assert await a.copy() == (CopyTradeState.SKIPPED, "GUARDRAIL_DRY_RUN")
    assert a.executor.sent == []
    a.guard.dry_run = False
    assert (await a.copy())[0] is CopyTradeState.EXECUTED
