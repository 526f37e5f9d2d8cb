"""The copy engine's stages through its ports only, with fakes (no database, no simulator): a signal is
prewritten, executed and its outcome written through the `CopyStore`; a copy whose submit result is
unknown stays PENDING until the PENDING sweep reconciles it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.orders import ExecStatus, ExecutionResult
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.domain.states import CopyTradeState, OrderStatus
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.pending_sweep import PendingSweeper
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.ports.store import StoredConfig, StoreUnavailableError
from polyhunter.settings import EngineSettings
from tests.support.engine_inputs import paper_config
from tests.support.fake_venue import FakeExecutor, FakeMarketData, a_book
from tests.support.memory_copy_store import MemoryCopyStore

TOKEN = "123"
LEADER = "0x" + "ab" * 20
CONDITION = "0x" + "cd" * 32
PENDING, EXECUTED, SKIPPED = CopyTradeState.PENDING, CopyTradeState.EXECUTED, CopyTradeState.SKIPPED


class Rig:
    def __init__(self, executor: FakeExecutor | None = None, max_trade_usdc: str = "1000") -> None:
        self.store = MemoryCopyStore()
        self.market = FakeMarketData({TOKEN: a_book(TOKEN)})
        self.executor = executor or FakeExecutor()
        self.coord = MemoryCoordinator()
        limits = GuardrailLimits(Decimal(max_trade_usdc), Decimal(5000), Decimal(100_000))
        self.guard = Guard(self.coord, limits, 5, 300_000)
        settings = EngineSettings()
        pricer = Pricer(self.market, quote_ttl_ms=500, max_entries=100, fallback_ttl_ms=10_000)
        executors = {CustodyMode.PAPER: self.executor}
        self.engine = CopyEngine(
            self.store, pricer, executors, self.guard, settings, StageMetrics(), "engine-1"
        )
        self.sweeper = PendingSweeper(
            self.store, executors, self.engine, ttl_s=60, interval_ms=1000, worker_id="engine-1"
        )

    def follow(self, usdc: str = "5", **overrides: Any) -> StoredConfig:
        cfg = paper_config(len(self.store.configs) + 1, LEADER, usdc, **overrides)
        return self.store.add_config(StoredConfig(cfg, None, True))

    def age(self, copy_trade_id: int, by: timedelta) -> None:
        """Move a copy's creation (and its writer's lock) back in time, as if it had waited."""
        row = self.store.copies[copy_trade_id]
        row.created_at -= by
        if row.locked_at is not None:
            row.locked_at -= by


def a_buy(price: str = "0.50", size: str = "100") -> Signal:
    now = datetime.now(UTC)
    tx = "0x" + secrets.token_hex(32)
    return Signal(
        secrets.token_hex(16),
        LEADER,
        TOKEN,
        CONDITION,
        Side.BUY,
        Decimal(size),
        Decimal(price),
        tx,
        now,
        now,
        SourceKind.WS,
    )


async def test_executed_copy_is_written_with_its_fill() -> None:
    rig = Rig()
    stored = rig.follow("5")
    signal = a_buy()
    outcomes = await rig.engine.process_signal(signal)
    assert [o.state for o in outcomes] == [EXECUTED]
    (trade_id,) = rig.store.copies
    row = rig.store.copies[trade_id]
    assert (row.signal_key, row.copy.config_id) == (signal.key, stored.config.id)
    assert row.state is EXECUTED
    assert row.filled_size_micro == 10_000_000  # $5 at 0.50
    assert row.filled_price_micro == 500_000
    assert row.locked_by is None
    assert [r.copy_trade_id for r in rig.executor.sent] == [trade_id]
    assert rig.engine.exposure.get(stored.config.id, CONDITION) == Decimal(5)
    assert await rig.engine.process_signal(signal) == []  # recorded before: nothing again
    assert rig.engine.stats.duplicate_signals == 1
    assert len(rig.executor.sent) == 1


async def test_a_sizing_skip_is_prewritten_skipped_and_never_sent() -> None:
    rig = Rig()
    rig.follow("5", min_trade_usdc=Decimal(10), max_trade_usdc=Decimal(20))  # $5 is below its minimum
    rig.follow("5", sides=frozenset({Side.SELL}))  # a filter: does not copy BUYs
    assert await rig.engine.process_signal(a_buy()) == []
    rows = list(rig.store.copies.values())
    assert [r.state for r in rows] == [SKIPPED, SKIPPED]
    assert all(r.reason for r in rows)
    assert all(r.locked_by is None for r in rows)
    assert rig.executor.sent == []
    assert sum(rig.engine.stats.copies.values()) == 2


async def test_a_guardrail_veto_skips_the_copy_and_records_the_event() -> None:
    rig = Rig(max_trade_usdc="2")
    stored = rig.follow("5")
    outcomes = await rig.engine.process_signal(a_buy())
    assert [o.state for o in outcomes] == [SKIPPED]
    (row,) = rig.store.copies.values()
    assert row.state is SKIPPED
    assert row.reason is not None
    assert row.reason.startswith("GUARDRAIL_")
    (event,) = rig.store.events
    assert (event["config_id"], event["copy_trade_id"]) == (stored.config.id, row.id)
    assert rig.executor.sent == []


async def test_an_unknown_result_stays_pending_until_the_sweep_reconciles_it() -> None:
    rig = Rig(FakeExecutor(lambda _request: ExecutionResult(ExecStatus.UNKNOWN, error="timeout")))
    stored = rig.follow("5")
    assert await rig.engine.process_signal(a_buy()) == []
    (row,) = rig.store.copies.values()
    assert row.state is PENDING  # it may have been sent: never closed without asking the venue
    assert rig.engine.stats.unknown == 1
    assert row.id not in rig.engine.held()
    rig.store.add_order(row.id, "0xorder", 500_000, 10_000_000)  # the order journal's row
    assert await rig.sweeper.sweep_once() == 0  # younger than its time-to-live: left alone
    rig.age(row.id, timedelta(minutes=5))
    rig.executor.reconciled = ExecutionResult(
        ExecStatus.FILLED, Decimal(10), Decimal("0.50"), Decimal(0), "0xorder"
    )
    assert await rig.sweeper.sweep_once() == 1
    assert row.state is EXECUTED
    assert row.filled_size_micro == 10_000_000
    assert rig.sweeper.stats.reconciled == 1
    (request,) = rig.executor.reconcile_requests
    assert (request.copy_trade_id, request.condition_id, request.limit_price) == (
        row.id,
        CONDITION,
        Decimal("0.5"),
    )
    assert rig.store.orders[row.id][0].status is OrderStatus.MATCHED
    assert rig.engine.exposure.get(stored.config.id, CONDITION) == Decimal(5)


async def test_an_unknown_result_the_venue_never_saw_expires_and_gives_its_spend_back() -> None:
    rig = Rig(FakeExecutor(lambda _request: ExecutionResult(ExecStatus.UNKNOWN, error="timeout")))
    rig.follow("5")
    await rig.engine.process_signal(a_buy())
    (row,) = rig.store.copies.values()
    assert (await rig.store.spent_today(datetime.now(UTC)))[row.copy.user_id] == 5_000_000
    rig.age(row.id, timedelta(minutes=5))
    assert await rig.sweeper.sweep_once() == 1  # reconcile answers None: the venue has no such order
    assert row.state is CopyTradeState.EXPIRED
    assert rig.sweeper.stats.expired == 1
    assert row.copy.user_id not in await rig.store.spent_today(datetime.now(UTC))


async def test_a_dropped_connection_is_retried_through_the_port() -> None:
    rig = Rig()
    rig.follow("5")
    rig.store.fail_next = 1  # the prewrite's first attempt finds its connection dead
    outcomes = await rig.engine.process_signal(a_buy())
    assert [o.state for o in outcomes] == [EXECUTED]
    assert len(rig.store.copies) == 1


async def test_a_fill_whose_outcome_write_failed_is_counted_once_when_the_sweep_settles_it() -> None:
    """The venue filled the copy and the engine counted the fill in the config's holding, but writing the
    outcome failed (the database gone past the retries): the row stays PENDING and the sweep settles it
    later from the venue's record. The holding (what a later SELL mirrors) counts that fill once, not
    twice (a fan-out run at load 10 sold 4.54 shares of a config that held 3.41)."""
    rig = Rig()
    stored = rig.follow("5")
    write_outcomes = rig.store.write_outcomes

    async def gone(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailableError("database gone")

    rig.store.write_outcomes = gone  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailableError):
        await rig.engine.process_signal(a_buy())
    rig.store.write_outcomes = write_outcomes  # type: ignore[method-assign]
    (row,) = rig.store.copies.values()
    assert row.state is PENDING
    assert rig.engine.exposure.shares(stored.config.id, TOKEN) == Decimal(10)  # the fill the engine saw
    rig.store.add_order(row.id, "0xorder", 500_000, 10_000_000)
    rig.age(row.id, timedelta(minutes=5))
    rig.executor.reconciled = ExecutionResult(
        ExecStatus.FILLED, Decimal(10), Decimal("0.50"), Decimal(0), "0xorder"
    )
    assert await rig.sweeper.sweep_once() == 1
    assert row.state is EXECUTED
    assert rig.engine.exposure.shares(stored.config.id, TOKEN) == Decimal(10)
    assert rig.engine.exposure.get(stored.config.id, CONDITION) == Decimal(5)
