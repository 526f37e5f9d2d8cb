"""One config's failure stays with that config (issue 13 item 2), through the ports with fakes: an
executor raising for one config, a sizing that raises, a poison size no store can hold, a follower
with no wallet on a SELL; the signal is recorded, every other config's copy goes on, the failing config
is paused with the reason and its later copies are SKIPPED `CONFIG_PAUSED` until resumed. Retryable
errors are retried with bounded backoff, and never once an order may have been sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CopyConfig, CustodyMode
from polyhunter.domain.errors import OperatorNeededError, RetryableError, UnknownResultError
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.orders import ExecutionResult, Funds, OrderRequest
from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.sizing import SizeDecision, SizingContext
from polyhunter.domain.sizing import size_copy as planning_size_copy
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine import copy_stages, isolation, planning
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.ports.store import StoredConfig
from polyhunter.settings import EngineSettings
from tests.support.engine_inputs import fill_signal, paper_config
from tests.support.fake_venue import FakeExecutor, FakeMarketData, a_book, filled
from tests.support.memory_copy_store import MemoryCopyStore

TOKEN = "123"
LEADER = "0x" + "ab" * 20
CONDITION = "0x" + "cd" * 32
PENDING, EXECUTED, SKIPPED, FAILED = (
    CopyTradeState.PENDING,
    CopyTradeState.EXECUTED,
    CopyTradeState.SKIPPED,
    CopyTradeState.FAILED,
)


class Wallets(FakeExecutor):
    """A fake executor that can fail per follower: `broken[user_id]` is raised by every call for it,
    `flaky[user_id]` by the next n reads of its funds."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.broken: dict[int, Exception] = {}
        self.flaky: dict[int, tuple[int, Exception]] = {}
        self.funds_reads: dict[int, int] = {}

    def _answer(self, request: OrderRequest) -> ExecutionResult:
        if request.user_id in self.broken:
            raise self.broken[request.user_id]
        return filled(request)

    def _read(self, user_id: int) -> None:
        self.funds_reads[user_id] = self.funds_reads.get(user_id, 0) + 1
        left, exc = self.flaky.get(user_id, (0, RetryableError()))
        if left > 0:
            self.flaky[user_id] = (left - 1, exc)
            raise exc

    async def collateral(self, user_id: int) -> Funds:
        self._read(user_id)
        return await super().collateral(user_id)

    async def shares(self, user_id: int, token_id: str) -> Funds:
        if user_id in self.broken:
            raise self.broken[user_id]
        self._read(user_id)
        return Funds(Decimal(1000))


class Rig:
    def __init__(self) -> None:
        self.store = MemoryCopyStore()
        self.executor = Wallets()
        limits = GuardrailLimits(Decimal(1000), Decimal(5000), Decimal(100_000))
        self.guard = Guard(MemoryCoordinator(), limits, 5, 300_000)
        pricer = Pricer(
            FakeMarketData({TOKEN: a_book(TOKEN)}), quote_ttl_ms=500, max_entries=100, fallback_ttl_ms=10_000
        )
        self.engine = CopyEngine(
            self.store,
            pricer,
            {CustodyMode.PAPER: self.executor},
            self.guard,
            EngineSettings(),
            StageMetrics(),
            "engine-1",
        )

    def follow(self, usdc: str = "5", **overrides: Any) -> StoredConfig:
        cfg = paper_config(len(self.store.configs) + 1, LEADER, usdc, **overrides)
        return self.store.add_config(StoredConfig(cfg, None, True))

    def rows(self) -> dict[int, tuple[CopyTradeState, str | None]]:
        """{config id: (state, reason or error)} of the copies of the last signal."""
        last = list(self.store.signals)[-1]
        return {
            r.copy.config_id: (r.state, r.reason or r.error)
            for r in self.store.copies.values()
            if r.signal_key == last
        }

    def forget_configs(self) -> None:
        """Read the configs again on the next signal (the engine caches them for 2 s)."""
        self.engine._configs.invalidate(LEADER)  # noqa: SLF001 - test shortcut for the 2 s cache


def a_signal(side: Side = Side.BUY) -> Signal:
    return fill_signal(LEADER, TOKEN, CONDITION, side)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copy_stages, "RUN_BACKOFF_S", 0.001)


async def test_an_executor_raising_for_one_config_pauses_it_and_the_others_execute() -> None:
    rig = Rig()
    first, broken, third = rig.follow(), rig.follow(), rig.follow()
    rig.executor.broken[broken.config.user_id] = RuntimeError("boom")
    signal = a_signal()
    outcomes = await rig.engine.process_signal(signal)
    assert signal.key in rig.store.signals
    assert sorted(str(o.state) for o in outcomes) == ["EXECUTED", "EXECUTED", "FAILED"]
    rows = rig.rows()
    assert rows[first.config.id][0] is EXECUTED
    assert rows[third.config.id][0] is EXECUTED
    state, error = rows[broken.config.id]
    assert state is FAILED
    assert error == "INTERNAL: RuntimeError: boom"
    paused_at, reason = rig.store.paused[broken.config.id]
    assert reason == "INTERNAL: RuntimeError: boom"
    assert set(rig.store.paused) == {broken.config.id}
    assert rig.engine.stats.paused == 1

    # Paused: the next signal skips it (with the reason) and sends nothing for it; the rest go on.
    rig.executor.broken.clear()
    sent_before = len(rig.executor.sent)
    await rig.engine.process_signal(a_signal())
    rows = rig.rows()
    assert rows[broken.config.id] == (SKIPPED, planning.CONFIG_PAUSED)
    assert rows[first.config.id][0] is EXECUTED
    assert len(rig.executor.sent) == sent_before + 2

    # Resumed by an operator: copied again.
    assert rig.store.resume(broken.config.id)
    rig.forget_configs()
    await rig.engine.process_signal(a_signal())
    assert rig.rows()[broken.config.id][0] is EXECUTED


async def test_an_operator_needed_refusal_records_its_reason_code() -> None:
    rig = Rig()
    ok, refused = rig.follow(), rig.follow()
    rig.executor.broken[refused.config.user_id] = OperatorNeededError("AUTH_REFUSED", "HTTP 401: bad key")
    await rig.engine.process_signal(a_signal())
    assert rig.rows()[ok.config.id][0] is EXECUTED
    assert rig.rows()[refused.config.id] == (FAILED, "AUTH_REFUSED: HTTP 401: bad key")
    assert rig.store.paused[refused.config.id][1] == "AUTH_REFUSED: HTTP 401: bad key"


async def test_a_sizing_exception_for_one_config_skips_and_pauses_only_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    ok, poison, other = rig.follow(), rig.follow(), rig.follow()
    real = planning_size_copy

    def size_copy(cfg: CopyConfig, signal: Signal, ctx: SizingContext) -> SizeDecision:
        if cfg.id == poison.config.id:
            raise ArithmeticError("sizing bug")
        return real(cfg, signal, ctx)

    monkeypatch.setattr("polyhunter.engine.planning.size_copy", size_copy)
    signal = a_signal()
    outcomes = await rig.engine.process_signal(signal)
    assert signal.key in rig.store.signals  # the signal is recorded
    assert [str(o.state) for o in outcomes] == ["EXECUTED", "EXECUTED"]
    rows = rig.rows()
    assert rows[poison.config.id] == (SKIPPED, planning.CONFIG_PAUSED)
    assert rows[ok.config.id][0] is EXECUTED
    assert rows[other.config.id][0] is EXECUTED
    assert rig.store.paused[poison.config.id][1] == "INTERNAL: ArithmeticError: sizing bug"


@pytest.mark.parametrize(
    ("value", "reason"), [("1e15", "SIZE_OUT_OF_RANGE: "), ("1e27", "INTERNAL: InvalidOperation")]
)
async def test_a_size_no_store_can_hold_pauses_the_config(value: str, reason: str) -> None:
    """FIXED_USDC 1e15 or 1e27 (refused by the run file, but reaching the engine from the database or
    a bug): its micro-USDC amount does not fit a BIGINT (or overflows the decimal context). The copy is
    SKIPPED and the config paused; the prewrite of the signal and the other configs' copies goes on."""
    rig = Rig()
    ok = rig.follow()
    poison = rig.follow()
    object.__setattr__(poison.config, "sizing_value", Decimal(value))  # past the domain's checks
    signal = a_signal()
    await rig.engine.process_signal(signal)
    assert signal.key in rig.store.signals
    rows = rig.rows()
    assert rows[ok.config.id][0] is EXECUTED
    assert rows[poison.config.id] == (SKIPPED, planning.CONFIG_PAUSED)
    assert rig.store.paused[poison.config.id][1].startswith(reason)
    assert all(r.copy.notional_micro <= planning.MAX_MICRO for r in rig.store.copies.values())


async def test_a_sell_with_no_wallet_for_one_follower_is_still_recorded() -> None:
    """A follower removed from the run file: its executor has no wallet for it (operator-needed). A
    SELL reads every config's holdings while planning; that one config is paused, the signal recorded."""
    rig = Rig()
    ok, gone = rig.follow(), rig.follow()
    rig.engine.leaders.seed(LEADER, TOKEN, Decimal(100))  # the leader held 100 shares before
    await rig.engine.process_signal(a_signal(Side.BUY))  # both hold shares of the token now
    rig.executor.broken[gone.config.user_id] = OperatorNeededError("NO_WALLET", "no EOA wallet for user 2")
    sell = a_signal(Side.SELL)
    await rig.engine.process_signal(sell)
    assert sell.key in rig.store.signals
    rows = rig.rows()
    assert rows[gone.config.id] == (SKIPPED, planning.CONFIG_PAUSED)
    assert rows[ok.config.id][0] is EXECUTED
    assert rig.store.paused[gone.config.id][1] == "NO_WALLET: no EOA wallet for user 2"
    assert ok.config.id not in rig.store.paused


async def test_a_retryable_error_is_retried_with_bounded_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig()
    flaky, steady = rig.follow(), rig.follow()
    rig.executor.flaky[flaky.config.user_id] = (2, RetryableError("HTTP 503"))  # preflight fails twice
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # the copy's backoff (nothing else sleeps here)
    await rig.engine.process_signal(a_signal())
    rows = rig.rows()
    assert rows[flaky.config.id][0] is EXECUTED
    assert rows[steady.config.id][0] is EXECUTED
    assert rig.executor.funds_reads[flaky.config.user_id] == 3
    assert sleeps == [0.001, 0.002]  # base, then doubled
    assert not rig.store.paused  # retryable: nobody is paused


async def test_a_retryable_error_that_persists_fails_the_copy_without_pausing() -> None:
    rig = Rig()
    down, steady = rig.follow(), rig.follow()
    rig.executor.flaky[down.config.user_id] = (100, RetryableError("HTTP 503"))
    await rig.engine.process_signal(a_signal())
    rows = rig.rows()
    assert rows[steady.config.id][0] is EXECUTED
    state, error = rows[down.config.id]
    assert state is FAILED
    assert error is not None
    assert error.startswith("retryable: ")
    assert rig.executor.funds_reads[down.config.user_id] == copy_stages.RUN_ATTEMPTS
    assert not rig.store.paused


@pytest.mark.parametrize("exc", [RetryableError("timeout"), UnknownResultError("connection reset")])
async def test_an_error_once_sent_leaves_the_copy_pending_and_never_resends(exc: Exception) -> None:
    rig = Rig()
    unsure, steady = rig.follow(), rig.follow()
    rig.executor.broken[unsure.config.user_id] = exc
    await rig.engine.process_signal(a_signal())
    rows = rig.rows()
    assert rows[steady.config.id][0] is EXECUTED
    assert rows[unsure.config.id][0] is PENDING  # the sweep reconciles it against the venue
    assert [r.user_id for r in rig.executor.sent].count(unsure.config.user_id) == 1
    assert rig.engine.stats.unknown == 1
    assert not rig.store.paused


async def test_planning_that_stays_unavailable_skips_without_pausing_and_stalls_the_signal_once() -> None:
    """A SELL reads each config's holdings while planning: with the venue down for every follower,
    the first config is retried (bounded), the rest of the signal tried once each; all SKIPPED
    `PLANNING_UNAVAILABLE`, nobody paused, the signal recorded."""
    rig = Rig()
    configs = [rig.follow() for _ in range(4)]
    rig.engine.leaders.seed(LEADER, TOKEN, Decimal(100))
    for stored in configs:
        rig.executor.flaky[stored.config.user_id] = (100, RetryableError("HTTP 503"))
    sell = a_signal(Side.SELL)
    await rig.engine.process_signal(sell)
    assert sell.key in rig.store.signals
    rows = rig.rows()
    assert set(rows.values()) == {(SKIPPED, isolation.PLANNING_UNAVAILABLE)}
    reads = [rig.executor.funds_reads[s.config.user_id] for s in configs]
    assert reads == [isolation.PLAN_ATTEMPTS, 1, 1, 1]
    assert not rig.store.paused
