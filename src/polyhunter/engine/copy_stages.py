"""The stages of one prewritten copy: guardrails → pricing (with the price chase) → preflight → execute
→ its result; a copy worth less than the venue minimum is parked (parking.py) or skipped.

`CopyStages` is the part of `CopyEngine` (copy_engine.py) that runs copies; the engine builds the
collaborators declared below and hands each signal's prewritten copies to `_run_all`.

Isolation: whatever goes wrong while running one config's copy stays with that config. The engine
branches on the error's kind (domain/errors.py), never on its text. A `RetryableError` before
anything was sent is retried with bounded backoff, then FAILED; an `UnknownResultError` (or a
retryable error once an order may have been sent) leaves the copy PENDING for reconciliation, never
resent; an `OperatorNeededError`, or any other exception (a bug), ends the copy FAILED and pauses the
config with the reason (isolation.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import assert_never

from polyhunter.domain.aggregation import Released
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.errors import RetryableError, UnknownResultError, pause_reason
from polyhunter.domain.guardrails import Veto
from polyhunter.domain.lifecycle import MARKET_CLOSED
from polyhunter.domain.order_math import market_buy_notional
from polyhunter.domain.orders import ExecStatus, ExecutionResult, OrderRequest, OrderType
from polyhunter.domain.signal import Side, to_micro
from polyhunter.domain.sizing import SizeSkip
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.balances import INSUFFICIENT_BALANCE, FollowerFunds, Hold
from polyhunter.engine.copy_records import CopyReporter, CopyWork, EngineStats
from polyhunter.engine.guard import Guard
from polyhunter.engine.isolation import ConfigPauses
from polyhunter.engine.market_meta import ClosedMarkets
from polyhunter.engine.parking import BELOW_MINIMUM, Parking
from polyhunter.engine.positions import FollowerExposure
from polyhunter.engine.pricing import PriceDecision, Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.log import get_logger
from polyhunter.ports.store import Outcome
from polyhunter.ports.venue import Executor
from polyhunter.settings import EngineSettings

log = get_logger(__name__)

VENUE_MIN_NOTIONAL = Decimal(1)  # marketable orders must be worth at least $1
# A market BUY's rounding (spend to the cent, shares bought to the lot) costs it under 2 cents of what
# the venue counts: above $1.02 the exact count cannot fall below the minimum.
ROUNDING_MARGIN = Decimal("0.02")

RUN_ATTEMPTS = 3  # a copy that meets a retryable error before anything is sent is tried this often
RUN_BACKOFF_S = 0.1
RUN_BACKOFF_CAP_S = 1.0

EXECUTED = CopyTradeState.EXECUTED
SKIPPED = CopyTradeState.SKIPPED
FAILED = CopyTradeState.FAILED


class CopyStages:
    """Running prewritten copies (the stages above); `CopyEngine.__init__` sets every attribute."""

    _settings: EngineSettings
    _executors: Mapping[CustodyMode, Executor]
    _reporter: CopyReporter
    pricer: Pricer
    guard: Guard
    metrics: StageMetrics
    stats: EngineStats
    funds: FollowerFunds
    exposure: FollowerExposure
    pauses: ConfigPauses
    parking: Parking
    markets_closed: ClosedMarkets

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
        return await self._record_result(work, *sent)

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

    async def _record_result(self, work: CopyWork, result: ExecutionResult, price: PriceDecision) -> int:
        signal, cfg = work.signal, work.stored.config
        breakers = self.guard.breakers
        match result.status:
            case ExecStatus.FILLED | ExecStatus.PARTIAL:
                work.counted = True
                self.exposure.add(
                    cfg.id,
                    signal.condition_id,
                    signal.side,
                    result.notional,
                    signal.asset,
                    result.filled_shares,
                    user_id=cfg.user_id,
                )
                self._reporter.finish(
                    work,
                    CopyTradeState.SETTLEMENT_PENDING if result.settles_later else EXECUTED,
                    filled=(result.filled_shares, result.avg_price, result.fee),
                    order_id=result.venue_order_id,
                    tick=price.tick_size,
                    notional=result.amount,
                )
                await breakers.succeeded(cfg.id)
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
                self._reporter.finish(work, FAILED, error=result.error or "rejected")
                await breakers.failed(cfg.id, int(time.time() * 1000))
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
            self._reporter.finish(work, SKIPPED, reason=BELOW_MINIMUM)
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
        else:
            # The parked SELLs were sized from the holding as it was; SELLs executed since sold from it
            # too. The aggregate never sells more than the config holds now.
            held = self.exposure.shares(cfg.id, work.signal.asset)
            if released.shares > held:
                if held * limit < VENUE_MIN_NOTIONAL:
                    # sold out meanwhile: nothing to sell; else what is left is under the minimum
                    why = SizeSkip.NO_POSITION_TO_SELL.value if held <= 0 else BELOW_MINIMUM
                    self.parking.close(work, released, why)
                    self._reporter.finish(work, SKIPPED, reason=why)
                    return None
                released = Released(held, held * limit, released.signal_keys)
        self.parking.close(work, released, f"AGGREGATED_INTO_{work.trade_id}")
        return released

    def flush_aggregates(self, *, everything: bool = False) -> list[Outcome]:
        """Buckets whose window passed below the minimum (or all, at shutdown): their copies end SKIPPED."""
        return self.parking.expired(int(time.time() * 1000), everything=everything)
