"""The copy pipeline: for each signal, every active config of its leader, each stage timed.

    filters + sizing (pure) → prewrite (the signal and one INSERT .. ON CONFLICT DO NOTHING for all
    configs, atomically; on PostgreSQL one autocommit statement) → guardrails → pricing → preflight
    → execute → persist (one batched write for all outcomes)

How signals come in (order per leader and token, durable before the source moves on, executed in
the background) is intake.py; planning a copy (market, filters, sizing) planning.py; what a finished
copy reports (outcome rows, counters, `CopyRecord`s) copy_records.py; the store behind the `CopyStore` port (ports/store.py).

Isolation: whatever goes wrong while planning or running one config's copy stays with that config
(planning and pausing: isolation.py). The engine branches on the error's kind (domain/errors.py),
never on its text. Running a copy: a `RetryableError` before anything was sent is retried with bounded
backoff, then FAILED; an `UnknownResultError` (or a retryable error once an order may have been sent)
leaves the copy PENDING for reconciliation, never resent; an `OperatorNeededError`, or any other
exception (a bug), ends the copy FAILED and pauses the config with the reason. The signal is still
recorded with every other config's copy; a paused config's copies are SKIPPED until an operator
resumes it.

Copies run with bounded concurrency. Every copy this process prewrote ends in exactly one terminal
state, except an order whose submit result is unknown: that row stays PENDING and the PENDING sweep
(pending_sweep.py)
reconciles it against the venue (never resubmitting blindly).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import assert_never

from polyhunter.domain.aggregation import Released
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.errors import RetryableError, UnknownResultError, pause_reason
from polyhunter.domain.filters import needs_market_metadata
from polyhunter.domain.guardrails import Veto
from polyhunter.domain.lifecycle import MARKET_CLOSED
from polyhunter.domain.order_math import market_buy_notional
from polyhunter.domain.orders import ExecStatus, ExecutionResult, OrderRequest, OrderType
from polyhunter.domain.signal import Side, Signal, to_micro
from polyhunter.domain.sizing import SizeDecision
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.balances import INSUFFICIENT_BALANCE, FollowerFunds, Hold
from polyhunter.engine.copy_records import CopyRecord, CopyReporter, CopyWork, EngineStats
from polyhunter.engine.db_retry import retry_on_disconnect
from polyhunter.engine.guard import Guard
from polyhunter.engine.intake import ConfigScope, Intake
from polyhunter.engine.isolation import ConfigPauses, plan_all
from polyhunter.engine.market_meta import ClosedMarkets, MarketDirectory
from polyhunter.engine.parking import Parking
from polyhunter.engine.planning import Planner
from polyhunter.engine.positions import FollowerExposure, LeaderPortfolio, LeaderPositions
from polyhunter.engine.pricing import PriceDecision, Pricer
from polyhunter.engine.provisional import ProvisionalFills
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.engine.ttl_cache import TtlCache
from polyhunter.log import get_logger
from polyhunter.ports.store import CopyStore, GuardrailEventRow, NewCopy, Outcome, StoredConfig
from polyhunter.ports.venue import Executor
from polyhunter.settings import EngineSettings

log = get_logger(__name__)

VENUE_MIN_NOTIONAL = Decimal(1)  # marketable orders must be worth at least $1
# A market BUY's rounding (spend to the cent, shares bought to the lot) costs it under 2 cents of what
# the venue counts: above $1.02 the exact count cannot fall below the minimum.
ROUNDING_MARGIN = Decimal("0.02")

DELIVERED_KEYS = 100_000  # signal keys remembered by a cluster worker (see `_first_delivery`)
RUN_ATTEMPTS = 3  # a copy that meets a retryable error before anything is sent is tried this often
RUN_BACKOFF_S = 0.1
RUN_BACKOFF_CAP_S = 1.0

EXECUTED = CopyTradeState.EXECUTED
SKIPPED = CopyTradeState.SKIPPED
FAILED = CopyTradeState.FAILED


@dataclass(slots=True)
class Prepared:
    """A recorded signal's prewritten copies, ready to execute (their outcomes go into `outcomes`)."""

    works: list[CopyWork]
    outcomes: list[Outcome]
    started: float  # perf_counter when the signal's processing began


class CopyEngine:
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

    # ----------------------------------------------------------------------------------- the stages

    async def _run_all(self, works: list[CopyWork]) -> None:
        """Bounded concurrency as a pool of workers draining one iterator (cheaper than a task and a
        semaphore wait per copy when a signal fans out to thousands of configs)."""
        pending = iter(works)

        async def worker() -> None:
            for work in pending:
                await self._run(work)

        width = min(self._settings.fanout_concurrency, len(works))
        if width == 1:
            await worker()
        elif width > 1:
            await asyncio.gather(*(worker() for _ in range(width)))

    async def _run(self, work: CopyWork) -> None:
        """One copy, isolated from the others (module docstring: what each kind of error does)."""
        cfg = work.stored.config
        for attempt in range(1, RUN_ATTEMPTS + 1):
            try:
                await self._copy(work)
                return
            except (RetryableError, UnknownResultError) as exc:
                if self._settled(work):
                    log.warning("error after the copy was settled", signal=work.signal.key, config=cfg.id)
                    return
                if work.sent or isinstance(exc, UnknownResultError):  # never resent: reconciled
                    self.stats.unknown += 1
                    log.warning("copy result unknown; left PENDING", signal=work.signal.key, config=cfg.id)
                    return
                if attempt == RUN_ATTEMPTS:
                    self._reporter.finish(work, FAILED, error=f"retryable: {type(exc).__name__}: {exc}")
                    return
                log.warning(
                    "retryable error; retrying the copy", config=cfg.id, attempt=attempt, error=str(exc)
                )
                await asyncio.sleep(min(RUN_BACKOFF_CAP_S, RUN_BACKOFF_S * 2 ** (attempt - 1)))
            except Exception as exc:  # noqa: BLE001 - one copy's bug must not sink the others
                log.exception("copy failed; pausing its config", signal=work.signal.key, config=cfg.id)
                if not self._settled(work):
                    self._reporter.finish(work, FAILED, error=pause_reason(exc, 1000))
                await self.pauses.pause(cfg, exc)
                return

    def _settled(self, work: CopyWork) -> bool:
        """Whether the copy already has its outcome, or waits parked (nothing more may be done)."""
        return work.trade_id in self.parking.parked or any(
            o.copy_trade_id == work.trade_id for o in work.outcomes
        )

    async def _copy(self, work: CopyWork) -> None:
        cfg = work.stored.config
        with self.metrics.time("guardrails"):
            reservation, veto = await self.guard.reserve(
                cfg.id,
                cfg.user_id,
                work.size.notional,
                datetime.now(UTC),
                work.signal.side,
                prewritten_at=work.prewritten_at,
            )
        if veto is not None:
            self._veto(work, veto, work.size.notional)
            return
        work.reservation = reservation
        spent = 0
        try:
            spent = await self._priced_copy(work)
        except BaseException:
            if work.sent and work.reservation is not None:  # the order may have been spent: kept
                spent = work.reservation.micro
            raise
        finally:
            if work.reservation is not None:
                await self.guard.release(work.reservation, keep_micro=spent)
                if spent and not self._settled(work):  # left PENDING: the sweep settles what it kept
                    self.guard.keep_for_sweep(work.trade_id, work.reservation, spent)

    def _veto(self, work: CopyWork, veto: Veto, notional: Decimal) -> str:
        """A guardrail refused the copy: its event, and the copy SKIPPED naming the rule."""
        cfg = work.stored.config
        work.events.append(
            {
                "rule": str(veto.rule),
                "detail": {"detail": veto.detail, "notional": str(notional)},
                "user_id": cfg.user_id,
                "config_id": cfg.id,
                "config_version": cfg.version,
                "signal_key": work.signal.key,
                "copy_trade_id": work.trade_id,
            }
        )
        reason = f"GUARDRAIL_{veto.rule}"
        self._reporter.finish(work, SKIPPED, reason=reason)
        return reason

    async def _priced_copy(self, work: CopyWork) -> int:
        """Pricing → preflight → execute, with a bounded price chase; returns the micro-USDC spent.

        An order killed unfilled (FOK, or FAK with no match) is chased: the book is read again and the
        copy priced with the killed limit as `chase_from`, so each attempt's limit is at least one tick
        further toward the market, never past the slippage budget against the leader's price. The chase
        ends with a fill, a skip (the re-read book cannot fill within the budget), the last step, or
        when the limit cannot move any more (it is at the budget).
        """
        signal, cfg = work.signal, work.stored.config
        max_bps = (
            cfg.max_slippage_bps if cfg.max_slippage_bps is not None else self._settings.max_slippage_bps
        )
        age_s = (datetime.now(UTC) - signal.fill_time).total_seconds()
        shares = work.size.shares
        order_type = OrderType(self._settings.order_type)
        sent: tuple[ExecutionResult, PriceDecision] | None = None
        retick = False
        for attempt in range(self._settings.price_chase_steps + 2):
            if attempt > self._settings.price_chase_steps and not retick:
                break
            chase_from = sent[1].limit_price if sent is not None else None
            with self.metrics.time("pricing"):
                price = await self.pricer.price(
                    signal.asset, signal.side, shares, signal.price, max_bps, age_s, chase_from
                )
            if price.skip is not None and not (order_type is OrderType.FAK and price.fillable_shares > 0):
                self._reporter.finish(work, SKIPPED, reason=str(price.skip))
                return 0
            if sent is not None and price.limit_price == chase_from:
                break  # at the budget: the limit cannot move toward the market any more
            if order_type is OrderType.FAK:
                shares = min(shares, price.fillable_shares) if price.fillable_shares > 0 else shares
            venue_notional = self._venue_notional(signal.side, shares, price)
            if venue_notional < VENUE_MIN_NOTIONAL and sent is not None:
                break  # a chase step that fell under the minimum ends the chase: the killed order stands
            if venue_notional < VENUE_MIN_NOTIONAL:
                released = await self._below_minimum(work, shares, venue_notional, price.limit_price)
                if released is None:
                    return 0
                shares = released.shares
            with self.metrics.time("preflight"):
                hold, shares, short = await self._preflight(work, shares, price)
            if hold is None:
                self._reporter.finish(work, SKIPPED, reason=short)
                return 0
            result: ExecutionResult | None = None
            try:
                result = await self._execute(work, shares, price, order_type)
            finally:  # an exception leaves the result unknown: the funds are read again
                self.funds.settle(hold, result if result is not None else ExecutionResult(ExecStatus.UNKNOWN))
            sent = (result, price)
            if result.venue_tick is not None and not retick:  # the tick changed: re-priced on it, once
                retick = True
                self.pricer.set_tick(signal.asset, result.venue_tick)
                sent = None
                continue
            killed = result.status is ExecStatus.KILLED
            if not killed or attempt == self._settings.price_chase_steps:
                break
            self.pricer.invalidate(signal.asset)  # the book moved: re-read it before the next step
        assert sent is not None
        return self._record_result(work, *sent)

    async def _preflight(
        self, work: CopyWork, shares: Decimal, price: PriceDecision
    ) -> tuple[Hold | None, Decimal, str | None]:
        """Hold what the copy needs: a SELL its shares; a BUY its amount plus the most its fee can be,
        sized down to what the follower can pay with the fee (balances.py `hold_buy`), never under the
        venue's minimum."""
        signal, cfg = work.signal, work.stored.config
        if signal.side is Side.SELL:
            hold, short = await self.funds.hold(
                cfg.custody, cfg.user_id, signal.side, signal.asset, shares, price.neg_risk
            )
            return hold, shares, short
        rate = await self.pricer.fee_rate(signal.asset)
        hold, fitted, short = await self.funds.hold_buy(
            cfg.custody, cfg.user_id, signal.asset, shares, price.limit_price, rate, price.neg_risk
        )
        if hold is not None and fitted < shares:
            if self._venue_notional(signal.side, fitted, price) < VENUE_MIN_NOTIONAL:
                self.funds.settle(hold, None)
                return None, Decimal(0), INSUFFICIENT_BALANCE
            log.info("BUY sized down to the balance, fee included", config=cfg.id, shares=str(fitted))
        return hold, fitted, short

    @staticmethod
    def _venue_notional(side: Side, shares: Decimal, price: PriceDecision) -> Decimal:
        """The order's worth as the venue's $1 minimum counts it (a market BUY: after its amounts are
        rounded, order_math.market_buy_notional)."""
        raw = shares * price.limit_price
        if side is Side.BUY and raw < VENUE_MIN_NOTIONAL + ROUNDING_MARGIN:
            return market_buy_notional(shares, price.limit_price, price.tick_size)
        return raw

    async def _execute(
        self, work: CopyWork, shares: Decimal, price: PriceDecision, order_type: OrderType
    ) -> ExecutionResult:
        signal, cfg = work.signal, work.stored.config
        request = OrderRequest(
            copy_trade_id=work.trade_id,
            signal_key=signal.key,
            config_id=cfg.id,
            user_id=cfg.user_id,
            token_id=signal.asset,
            condition_id=signal.condition_id,
            side=signal.side,
            shares=shares,
            limit_price=price.limit_price,
            reference_price=signal.price,
            tick_size=price.tick_size,
            neg_risk=price.neg_risk,
            order_type=order_type,
            min_order_size=price.min_order_size,
            client_id=f"{signal.key}:{cfg.id}",
        )
        to_submit = (datetime.now(UTC) - signal.seen_at).total_seconds()
        self.metrics.observe("signal_to_submit", to_submit)
        if work.signal_to_submit_s is None:  # the first order of a chase: when the copy reached the venue
            work.signal_to_submit_s = to_submit
        work.sent = True
        with self.metrics.time("execute"):
            try:
                return await self._executors[cfg.custody].execute(request)
            except (RetryableError, UnknownResultError) as exc:  # it may have reached the venue
                log.warning("executor error after sending; result unknown", config=cfg.id, error=str(exc))
                return ExecutionResult(ExecStatus.UNKNOWN, error=str(exc), retryable=True)

    def _record_result(self, work: CopyWork, result: ExecutionResult, price: PriceDecision) -> int:
        signal, cfg = work.signal, work.stored.config
        breaker = self.guard.breaker(cfg.id)
        match result.status:
            case ExecStatus.FILLED | ExecStatus.PARTIAL:
                breaker.record_success()
                self.exposure.add(
                    cfg.id,
                    signal.condition_id,
                    signal.side,
                    result.notional,
                    signal.asset,
                    result.filled_shares,
                )
                self._reporter.finish(
                    work,
                    CopyTradeState.SETTLEMENT_PENDING if result.settles_later else EXECUTED,
                    filled=(result.filled_shares, result.avg_price, result.fee),
                    order_id=result.venue_order_id,
                    tick=price.tick_size,
                    notional=result.amount,
                )
                return to_micro(result.notional) if signal.side is Side.BUY else 0
            case ExecStatus.UNKNOWN:
                self.stats.unknown += 1
                log.warning(
                    "submit result unknown; left PENDING for reconciliation", signal=signal.key, config=cfg.id
                )
                # Kept: it may have been spent. Exactly what the sweep gives back (the row's requested
                # notional, BUY only) if the venue turns out never to have seen the order.
                return to_micro(work.size.notional) if signal.side is Side.BUY else 0
            case ExecStatus.REJECTED if result.market_closed:  # not a failure: the market ended
                self._reporter.finish(work, SKIPPED, reason=MARKET_CLOSED)
                self.markets_closed.note(signal.condition_id)
                return 0
            case ExecStatus.KILLED | ExecStatus.REJECTED:  # nothing filled: failed, with the venue's text
                breaker.record_failure(int(time.time() * 1000))
                self._reporter.finish(work, FAILED, error=result.error or "rejected")
                return 0
            case _:
                assert_never(result.status)

    async def _below_minimum(
        self, work: CopyWork, shares: Decimal, venue_notional: Decimal, limit: Decimal
    ) -> Released | None:
        """Park a copy worth less than the venue minimum (parking.py; buckets add up what the venue
        counts, `venue_notional`); once its bucket reaches the minimum, this copy executes for all of
        them, and holds the daily caps for the aggregate's spend at `limit` (checked by the guardrails
        like any copy of that size). None: parked or skipped."""
        cfg = work.stored.config
        if not cfg.aggregate_below_minimum:
            self._reporter.finish(work, SKIPPED, reason="BELOW_VENUE_MINIMUM")
            return None
        released = self.parking.park(work, shares, venue_notional, VENUE_MIN_NOTIONAL)
        if released is None:
            return None  # stays PENDING until its bucket fills or expires (`flush_aggregates`)
        if work.signal.side is Side.BUY:
            spend = released.shares * limit
            bigger, veto = await self.guard.reserve(cfg.id, cfg.user_id, spend, datetime.now(UTC), Side.BUY)
            if veto is not None:
                self.parking.close(work, released, self._veto(work, veto, spend))
                return None
            if work.reservation is not None:
                await self.guard.release(work.reservation)
            work.reservation = bigger
        self.parking.close(work, released, f"AGGREGATED_INTO_{work.trade_id}")
        return released

    def flush_aggregates(self, *, everything: bool = False) -> list[Outcome]:
        """Buckets whose window passed below the minimum (or all, at shutdown): their copies end SKIPPED."""
        return self.parking.expired(int(time.time() * 1000), everything=everything)
