"""Durable daily caps through the engine's ports (issue 13 item 4): the coordinator's counters are a
cache of the store's record; when they vanish mid-run (a Redis restart, flush or eviction) they are
rebuilt from `CopyStore.spent_today` before any reservation lands on them, each copy counted once;
when the coordinator cannot be reached a copy is retried, then vetoed, never sent on a guess."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.orders import ExecStatus, ExecutionResult
from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.pending_sweep import PendingSweeper
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.spend_seed import seed_guard
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.ports.coordinator import CoordinatorUnavailable
from polyhunter.ports.store import NewCopy, StoredConfig
from polyhunter.settings import EngineSettings
from tests.support.engine_inputs import fill_signal, paper_config
from tests.support.fake_venue import FakeExecutor, FakeMarketData, a_book, filled
from tests.support.memory_copy_store import MemoryCopyStore

TOKEN = "123"
LEADER = "0x" + "ab" * 20
CONDITION = "0x" + "cd" * 32
EXECUTED, SKIPPED = CopyTradeState.EXECUTED, CopyTradeState.SKIPPED
USER_CAP = "GUARDRAIL_USER_DAILY_CAP"


class WipingCoordinator(MemoryCoordinator):
    """Loses every key just before chosen reservations (1-based count of `add_if_present` calls that
    add), or cannot be reached for the next `down` calls."""

    def __init__(self, wipe_before: Sequence[int] = ()) -> None:
        super().__init__()
        self.wipe_before = set(wipe_before)
        self.adds = 0
        self.down = 0

    async def add_if_present(self, keys: Sequence[str], amount: int) -> list[int] | None:
        if self.down > 0:
            self.down -= 1
            raise CoordinatorUnavailable("connection refused (simulated)")
        if amount > 0:
            self.adds += 1
            if self.adds in self.wipe_before:
                self.flush()
        return await super().add_if_present(keys, amount)


class Rig:
    def __init__(self, global_cap: str = "100000") -> None:
        self.store = MemoryCopyStore()
        self.executor = FakeExecutor(cash=Decimal(100_000))
        self.coord = WipingCoordinator()
        limits = GuardrailLimits(Decimal(1000), Decimal(5000), Decimal(global_cap))
        self.guard = Guard(
            self.coord, limits, 5, 300_000, spent_today=self.store.spent_today, retry_delays_s=(0, 0, 0)
        )
        pricer = Pricer(
            FakeMarketData({TOKEN: a_book(TOKEN, size="100000")}),
            quote_ttl_ms=500,
            max_entries=100,
            fallback_ttl_ms=10_000,
        )
        executors = {CustodyMode.PAPER: self.executor}
        self.engine = CopyEngine(
            self.store, pricer, executors, self.guard, EngineSettings(), StageMetrics(), "engine-1"
        )

    def follow(self, user_id: int, usdc: str = "5", cap: str | None = None) -> StoredConfig:
        if cap is not None:
            self.guard.set_user_limits(user_id, daily_cap_usdc=Decimal(cap))
        return self.store.add_config(StoredConfig(paper_config(user_id, LEADER, usdc), None, True))

    async def buys(self, count: int) -> list[tuple[CopyTradeState, str | None]]:
        results: list[tuple[CopyTradeState, str | None]] = []
        for _ in range(count):
            results += [(o.state, o.reason) for o in await self.engine.process_signal(a_buy())]
        return results

    def sweeper(self, ttl_s: int) -> PendingSweeper:
        """The PENDING sweep of this engine's process."""
        executors = {CustodyMode.PAPER: self.executor}
        return PendingSweeper(
            self.store, executors, self.engine, ttl_s=ttl_s, interval_ms=1000, worker_id="engine-1"
        )

    async def spent(self) -> dict[int, Decimal]:
        return {
            u: Decimal(m) / 1_000_000 for u, m in (await self.store.spent_today(datetime.now(UTC))).items()
        }


def a_buy() -> Signal:
    return fill_signal(LEADER, TOKEN, CONDITION)


async def test_counters_wiped_mid_run_are_rebuilt_and_the_cap_holds() -> None:
    rig = Rig()
    rig.follow(1, cap="60")
    await seed_guard(rig.guard, rig.store, datetime.now(UTC), [1])  # as a supervisor starts
    assert await rig.buys(12) == [(EXECUTED, None)] * 12  # 12 x 5 = 60: at the cap
    rig.coord.flush()  # Redis restarted with nothing
    assert await rig.buys(4) == [(SKIPPED, USER_CAP)] * 4
    assert await rig.spent() == {1: Decimal(60)}
    assert rig.guard.reseeds == 1
    assert len(rig.executor.sent) == 12


async def test_a_rebuilt_counter_counts_each_copy_once() -> None:
    """The reserving copy's own PENDING row is in the store's snapshot: it is not counted twice."""
    rig = Rig()
    rig.follow(1, cap="10")
    assert await rig.buys(1) == [(EXECUTED, None)]  # the day's first copy: counters built on the way
    rig.coord.flush()
    assert await rig.buys(1) == [(EXECUTED, None)]  # 5 + 5 = 10 fits the cap exactly
    assert await rig.buys(1) == [(SKIPPED, USER_CAP)]
    assert await rig.spent() == {1: Decimal(10)}


async def test_a_wipe_between_the_copies_of_one_signal() -> None:
    """Two followers copy the same signal; the counters vanish between their reservations."""
    rig = Rig()
    rig.follow(1, cap="12")
    rig.follow(2, cap="12")
    await seed_guard(rig.guard, rig.store, datetime.now(UTC), [1, 2])
    rig.coord.wipe_before = {2, 5}  # inside the first signal's fan-out, then inside the third's
    results = await rig.buys(4)
    spent = await rig.spent()
    assert all(total <= 12 for total in spent.values()), spent
    assert results.count((EXECUTED, None)) == 4  # 2 copies each: 10 of 12
    assert spent == {1: Decimal(10), 2: Decimal(10)}


async def test_the_global_cap_survives_a_wipe() -> None:
    rig = Rig(global_cap="20")
    rig.follow(1)
    rig.follow(2)
    await seed_guard(rig.guard, rig.store, datetime.now(UTC), [1, 2])
    assert await rig.buys(2) == [(EXECUTED, None)] * 4  # 20 of 20
    rig.coord.flush()
    assert {r for r in await rig.buys(2)} == {(SKIPPED, "GUARDRAIL_GLOBAL_DAILY_CAP")}
    assert sum((await rig.spent()).values()) == Decimal(20)


async def test_a_coordinator_that_comes_back_within_the_retries_lets_the_copy_go() -> None:
    rig = Rig()
    rig.follow(1, cap="60")
    rig.coord.down = 2  # refused twice, then reachable (with its counters gone)
    rig.coord.flush()
    assert await rig.buys(1) == [(EXECUTED, None)]
    assert await rig.spent() == {1: Decimal(5)}


async def test_an_unreachable_coordinator_vetoes_and_sends_nothing() -> None:
    rig = Rig()
    rig.follow(1, cap="60")
    assert await rig.buys(1) == [(EXECUTED, None)]
    rig.coord.down = 100
    assert await rig.buys(2) == [(SKIPPED, "GUARDRAIL_COUNTERS_UNAVAILABLE")] * 2
    assert rig.coord.down == 100 - 4 - 2  # the first copy tried 1 + 3 retries; the next one twice
    assert len(rig.executor.sent) == 1
    assert rig.store.events[-1]["rule"] == "COUNTERS_UNAVAILABLE"
    rig.coord.down = 0
    assert await rig.buys(1) == [(EXECUTED, None)]


async def test_two_guards_rebuilding_at_once_do_not_add_up() -> None:
    """Two processes on one coordinator find the counters missing together: one seed wins."""
    rig = Rig()
    rig.follow(1, cap="60")
    assert await rig.buys(6) == [(EXECUTED, None)] * 6  # 30
    other = Guard(rig.coord, rig.guard.limits, 5, 300_000, spent_today=rig.store.spent_today)
    other.set_user_limits(1, daily_cap_usdc=Decimal(60))
    rig.coord.flush()
    now = datetime.now(UTC)
    # both find the counters missing, both rebuild them (create if absent), each adds its own 5
    (mine, _), (theirs, _) = await asyncio.gather(
        *(g.reserve(1, 1, Decimal(5), now) for g in (rig.guard, other))
    )
    assert mine is not None
    assert theirs is not None
    assert await rig.coord.add_if_present([f"spent:user:1:{mine.day}"], 0) == [40_000_000]  # 30 + 5 + 5


async def test_copies_queued_behind_a_rebuild_do_not_read_the_store_again() -> None:
    """After a flush, the first copy reads the store; the copies that found the counters missing while
    it did wait for it and then reserve on what it built: one snapshot for the whole burst."""
    store = MemoryCopyStore()
    coord = MemoryCoordinator()
    reading = asyncio.Event()
    go_on = asyncio.Event()
    reads = 0

    async def spent_today(now: datetime) -> dict[int, int]:
        nonlocal reads
        reads += 1
        reading.set()
        await go_on.wait()
        return await store.spent_today(now)

    limits = GuardrailLimits(Decimal(1000), Decimal(5000), Decimal(100_000))
    guard = Guard(coord, limits, 5, 300_000, spent_today=spent_today, retry_delays_s=(0, 0, 0))
    now = datetime.now(UTC)
    first = asyncio.create_task(guard.reserve(1, 1, Decimal(5), now))
    await reading.wait()  # the first copy holds the seed lock, reading the store
    queued = [asyncio.create_task(guard.reserve(i, 1, Decimal(5), now)) for i in range(2, 12)]
    await asyncio.sleep(0)  # each finds the counters missing and queues for the seed
    go_on.set()
    results = await asyncio.gather(first, *queued)
    assert all(r is not None and veto is None for r, veto in results)
    assert reads == 1
    assert guard.reseeds == 1
    assert await coord.add_if_present([f"spent:user:1:{now.strftime('%Y%m%d')}"], 0) == [55_000_000]


async def test_the_sweep_gives_back_only_what_this_process_reserved() -> None:
    """A dead supervisor's PENDING row that never reserved is swept: its counters are rebuilt from the
    store, not given back a notional they never held (which let a follower spend past its cap)."""
    rig = Rig()
    cfg = rig.follow(1, cap="10")
    await seed_guard(rig.guard, rig.store, datetime.now(UTC), [1])
    assert await rig.buys(1) == [(EXECUTED, None)]  # 5 of 10
    long_ago = datetime.now(UTC).replace(hour=0, minute=0, second=1)
    micro = 5_000_000
    ghost = NewCopy(cfg.config.id, cfg.config.version, 1, Side.BUY, TOKEN, 2 * micro, 500_000, micro)
    assert await rig.store.prewrite(a_buy(), [ghost], "engine-dead", long_ago)  # 10 of 10 in the store
    sweeper = rig.sweeper(ttl_s=5)
    assert await sweeper.sweep_once() == 1
    assert sweeper.stats.expired == 1  # the venue never saw it
    assert await rig.buys(2) == [(EXECUTED, None), (SKIPPED, USER_CAP)]  # 5 + 5: at the cap again
    assert await rig.spent() == {1: Decimal(10)}
    assert len(rig.executor.sent) == 2


async def test_the_sweep_gives_back_what_an_unknown_order_of_this_process_kept() -> None:
    """A copy of this process whose result is unknown keeps its reservation; when the sweep finds the
    venue never saw it, exactly that goes back (no rebuild needed)."""
    rig = Rig()
    rig.follow(1, cap="10")
    await seed_guard(rig.guard, rig.store, datetime.now(UTC), [1])
    rig.executor.respond = lambda _request: ExecutionResult(ExecStatus.UNKNOWN, error="timeout")
    assert await rig.buys(1) == []  # left PENDING
    rig.executor.respond = filled
    sweeper = rig.sweeper(ttl_s=0)
    assert await sweeper.sweep_once() == 1
    assert sweeper.stats.expired == 1
    assert await rig.buys(3) == [(EXECUTED, None), (EXECUTED, None), (SKIPPED, USER_CAP)]
    assert rig.guard.reseeds == 0
    assert await rig.spent() == {1: Decimal(10)}
