"""The copy pipeline: for each signal, every active config of its leader, each stage timed.

    filters + sizing (pure) → prewrite (the signal and one INSERT .. ON CONFLICT DO NOTHING for all
    configs, atomically; on PostgreSQL one autocommit statement) → guardrails → pricing → preflight
    → execute → persist (one batched write for all outcomes)

How signals come in (order per leader and token, durable before the source moves on, executed in
the background) is intake.py; planning a copy (market, filters, sizing) planning.py; what a finished
copy reports (outcome rows, counters, `CopyRecord`s) copy_records.py; the store behind the `CopyStore` port (ports/store.py).

Isolation: whatever goes wrong while planning or running one config's copy stays with that config
(planning and pausing: isolation.py; running a copy, and what each kind of error does: copy_stages.py,
whose `CopyStages` holds the stages this class runs). The signal is still recorded with every other
config's copy; a paused config's copies are SKIPPED until an operator resumes it.

Copies run with bounded concurrency. Every copy this process prewrote ends in exactly one terminal
state, except an order whose submit result is unknown: that row stays PENDING and the PENDING sweep
(pending_sweep.py)
reconciles it against the venue (never resubmitting blindly).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.filters import needs_market_metadata
from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.sizing import SizeDecision
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.balances import FollowerFunds
from polyhunter.engine.copy_records import CopyRecord, CopyReporter, CopyWork, EngineStats
from polyhunter.engine.copy_stages import CopyStages
from polyhunter.engine.db_retry import retry_on_disconnect
from polyhunter.engine.guard import Guard
from polyhunter.engine.intake import ConfigScope, Intake
from polyhunter.engine.isolation import ConfigPauses, plan_all
from polyhunter.engine.market_meta import ClosedMarkets, MarketDirectory
from polyhunter.engine.parking import Parking
from polyhunter.engine.planning import Planner
from polyhunter.engine.positions import FollowerExposure, LeaderPortfolio, LeaderPositions
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.provisional import ProvisionalFills
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.engine.ttl_cache import TtlCache
from polyhunter.ports.store import CopyStore, GuardrailEventRow, NewCopy, Outcome, StoredConfig
from polyhunter.ports.venue import Executor
from polyhunter.settings import EngineSettings

DELIVERED_KEYS = 100_000  # signal keys remembered by a cluster worker (see `_first_delivery`)
SKIPPED = CopyTradeState.SKIPPED


@dataclass(slots=True)
class Prepared:
    """A recorded signal's prewritten copies, ready to execute (their outcomes go into `outcomes`)."""

    works: list[CopyWork]
    outcomes: list[Outcome]
    started: float  # perf_counter when the signal's processing began


class CopyEngine(CopyStages):
    def __init__(
        self,
        store: CopyStore,
        pricer: Pricer,
        executors: Mapping[CustodyMode, Executor],
        guard: Guard,
        settings: EngineSettings,
        metrics: StageMetrics,
        worker_id: str,
        *,
        portfolio: LeaderPortfolio | None = None,
        positions_value: Callable[[CustodyMode, int], Awaitable[Decimal]] | None = None,
        on_copy: Callable[[CopyRecord], None] | None = None,
        records_signals: bool = True,
        markets: MarketDirectory | None = None,
    ) -> None:
        self._store = store
        self.pricer = pricer
        self._executors = executors
        self.guard = guard
        self._settings = settings
        self.metrics = metrics
        self.worker_id = worker_id
        self.portfolio = portfolio  # leaders' Data API positions: sell mirroring seeds, PROPORTIONAL
        self._records_signals = records_signals
        # Configs change only by provisioning (before start, or another process): picked up within 2 s.
        self._configs: TtlCache[str, list[StoredConfig]] = TtlCache(2_000, 100_000)
        self._needs_market: dict[str, bool] = {}  # leader -> a config of it filters on slugs or tags
        self._mirrors: dict[str, bool] = {}  # leader -> a config of it mirrors its sells
        self.markets = markets
        self.funds = FollowerFunds(executors, settings.preflight_cache_ttl_ms)
        self.leaders = LeaderPositions()
        self.exposure = FollowerExposure()
        self.planner = Planner(
            self.funds,
            self.exposure,
            metrics,
            markets=markets,
            portfolio=portfolio,
            positions_value=positions_value,
        )
        self.stats = EngineStats()
        self._reporter = CopyReporter(self.stats, on_copy)
        self._in_flight: set[int] = set()  # copies a task of this process is working on
        # Copies whose fill moved the exposure here but whose outcome was not written (the database gone
        # past the retries): still PENDING, the sweep settles them and must not count the fill again.
        self.counted_unwritten: set[int] = set()
        self.pauses = ConfigPauses(store, self.stats, self._configs.invalidate)
        self.intake: Intake[Prepared] = Intake(self._prepare, self._execute_all, settings.signals_in_flight)
        self.parking = Parking(settings.aggregation_window_ms, self._in_flight, self.stats)
        self.markets_closed = ClosedMarkets()  # the planner skips copies into them (lifecycle.py fills it)
        self.planner.closed = self.markets_closed
        self.provisional = ProvisionalFills()  # fills seen pending: act_on = "confirmed" configs wait
        self._delivered: dict[str, None] = {}  # keys prepared (records_signals=False), oldest first

    @property
    def paused(self) -> dict[int, tuple[str, str]]:
        """{config id: (leader, reason)}: the paused configs among those this engine read or paused."""
        return self.pauses.paused

    def held(self) -> frozenset[int]:
        """Copy trade ids this process still owns (in flight or parked): the sweeper leaves them alone."""
        return frozenset(self._in_flight | self.parking.parked)

    # ------------------------------------------------------------------------------------ entry points

    async def handle(self, signals: Sequence[Signal], scope: ConfigScope | None = None) -> None:
        """The ingest sink (intake.py): returns once each signal is recorded with its copies prewritten;
        the copies execute in the background. `scope`: only the configs of these followers (a cluster
        worker's partition, cluster/consumer.py); a signal may then come once per partition."""
        await self.intake.handle(signals, scope)

    async def confirm(self, signal: Signal) -> bool:
        """The fill of ``signal``'s key, first seen pending, is mined: copy it for the configs that waited
        (``act_on = "confirmed"``), as copies of the signal already recorded. False if none waited."""
        held = self.provisional.take(signal.key)
        if held is None:
            return False
        try:
            await self.intake.handle([held])
        finally:
            self.provisional.done(signal.key)
        return True

    def retract(self, signal: Signal) -> bool:
        """The fill of ``signal``'s key never happened: configs that waited for its block never copy it.
        True if some were waiting. Copies already made (``act_on = "pending"``) stand."""
        return self.provisional.retract(signal.key)

    async def drain(self, timeout_s: float) -> int:
        """Wait for copies executing in the background (intake.py); returns how many were cut off."""
        return await self.intake.drain(timeout_s)

    def forget_configs(self, leaders: Iterable[str]) -> None:
        """Read these leaders' configs from the store again at their next signal (a change made
        through the API: `runtime/live_sync.py`)."""
        for leader in leaders:
            self._configs.invalidate(leader)

    async def configs_for(self, leader: str) -> list[StoredConfig]:
        async def load() -> list[StoredConfig]:
            found = await self._store.configs_for_leader(leader)
            self.pauses.note(leader, found)
            self._needs_market[leader] = any(needs_market_metadata(s.config) for s in found)
            self._mirrors[leader] = any(s.config.mirror_sells and Side.SELL in s.config.sides for s in found)
            return found

        return await self._configs.get(leader, load)

    async def process_signal(self, signal: Signal) -> list[Outcome]:
        """Record the signal and prewrite its copies in ONE transaction, then run the copies; returns
        their outcomes once written (the whole of `handle`'s work for one signal, awaited).

        A signal already recorded (a late duplicate, or a replay after a restart) stops here: the
        signal row and its copies were committed together, so nothing is lost and nothing repeats.
        """
        prepared = await self.intake.process(signal)
        return prepared.outcomes if prepared is not None else []

    async def _prepare(self, signal: Signal, scope: ConfigScope | None = None) -> Prepared | None:
        """Plan and prewrite; None if the signal was recorded before. Else the copies to execute, the
        list their outcomes go into, and when processing started."""
        started = time.perf_counter()
        configs = self.provisional.plan_now(signal, await self.configs_for(signal.leader))
        if scope is not None:
            configs = [c for c in configs if scope(c.config.user_id)]
        confirming = self.provisional.confirming(signal)  # the signal is recorded: only copies now
        leader_before: Decimal | None = self.leaders.position(signal.leader, signal.asset)
        if signal.side is Side.SELL and self._mirrors.get(signal.leader, False):
            leader_before = await self.leaders.before_sell(signal, self.portfolio)
        market = await self.planner.market(signal, self._needs_market.get(signal.leader, False))
        now = datetime.now(UTC)
        plans = await plan_all(self.planner, self.pauses, signal, configs, leader_before, market)
        with self.metrics.time("prewrite"):
            created = await retry_on_disconnect(
                lambda: self._prewrite(signal, plans, now, record_signal=not confirming), "prewrite"
            )
        if created is None:
            self.stats.duplicate_signals += 1
            return None
        if not confirming and self._first_delivery(signal.key):
            self.stats.signals += 1
            self.leaders.apply(signal)
        self.markets_closed.watch(signal.asset)
        self.stats.duplicates += len(plans) - len(created)
        works: list[CopyWork] = []
        outcomes: list[Outcome] = []
        for stored, new, size in plans:
            trade_id = created.get(stored.config.id)
            if trade_id is None:
                continue
            if new.state is SKIPPED:
                self._reporter.report(signal, stored, SKIPPED, new.reason, Decimal(0), Decimal(0), None)
                continue
            works.append(CopyWork(signal, stored, trade_id, size, outcomes, [], prewritten_at=now))
            self._in_flight.add(trade_id)
        return Prepared(works, outcomes, started)

    def _first_delivery(self, key: str) -> bool:
        """Whether this process prepares `key` for the first time (a cluster worker owning several
        partitions gets a signal once per partition; the leader's position moves once)."""
        if self._records_signals:
            return True  # the store said the signal is new: the first time by construction
        if key in self._delivered:
            return False
        self._delivered[key] = None
        if len(self._delivered) > DELIVERED_KEYS:
            del self._delivered[next(iter(self._delivered))]
        return True

    async def _execute_all(self, prepared: Prepared) -> None:
        """Run the prewritten copies and write their outcomes in one batch."""
        works, outcomes = prepared.works, prepared.outcomes
        try:
            await self._run_all(works)
            events = [e for w in works for e in w.events]
            with self.metrics.time("persist"):
                await retry_on_disconnect(lambda: self._persist(outcomes, events), "persist")
        except BaseException:
            self.counted_unwritten.update(w.trade_id for w in works if w.counted)
            raise
        finally:
            self._in_flight.difference_update(w.trade_id for w in works)
            self._in_flight.difference_update(o.copy_trade_id for o in outcomes)
        self.metrics.observe("total", time.perf_counter() - prepared.started)

    async def _prewrite(
        self,
        signal: Signal,
        plans: list[tuple[StoredConfig, NewCopy, SizeDecision]],
        now: datetime,
        *,
        record_signal: bool = True,
    ) -> dict[int, int] | None:
        """Record the signal and prewrite its copies atomically; None if the signal was recorded before.
        ``record_signal=False``: only the copies (a confirmed fill's waiting configs)."""
        copies = [p[1] for p in plans]
        record = self._records_signals and record_signal
        if not record and not copies:
            return {}
        return await self._store.prewrite(signal, copies, self.worker_id, now, record_signal=record)

    async def _persist(self, outcomes: list[Outcome], events: list[GuardrailEventRow]) -> None:
        if outcomes or events:
            await self._store.write_outcomes(outcomes, events, datetime.now(UTC))
