"""Copy backtest: a leader's recorded fills replayed through the copy engine's own rules. Pure.

For every fill of a followed leader, each of its copy configs goes through what the live engine does,
with the same domain code: the filters (`filters.check_filters`), the sizing (`sizing.size_copy`, with
the follower's and the leader's positions as the replay has them), the guardrails
(`guardrails.check_guardrails`: per-trade max and the daily caps per UTC day of the fill, the
follower's own limits with the platform's, the stricter winning), the slippage budget
(`book_math.slippage_limit_price`), the venue's $1 minimum with aggregation (`aggregation.Aggregator`)
and the funds preflight. A skipped copy is counted under the engine's reason.

What the replay cannot know it models, and says so in its report:

* the price: the recorded fill price moved ``slippage_ticks`` ticks against the follower (BUY up from
  the price on the tick below, SELL down from the tick above), as a market maker quoting around the
  leader's print fills it; past the config's slippage budget the copy is SKIPPED SLIPPAGE_EXCEEDED;
* the book depth: a copy fills in full at that price;
* or, with a `CopyPricer` in the rules (``backtest --leader``: `fill_model.HistoryPricer`), the price
  and depth the pricer models (the market's price history at the fill time plus the latency, walked
  against a modelled book); the slippage budget is checked against the worst level walked;
* fees: the venue's taker fee ``rate x shares x p x (1 - p)`` with each market's rate (given, or
  read off the leader's recorded fees);
* resolutions: a resolved token pays its payout per share held, at the resolution's time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from polyhunter.domain.aggregation import Aggregator
from polyhunter.domain.book_math import slippage_limit_price
from polyhunter.domain.copy_config import CopyConfig, MarketRef, SizingMode
from polyhunter.domain.filters import check_filters
from polyhunter.domain.guardrails import GuardrailInput, GuardrailLimits, check_guardrails
from polyhunter.domain.history import HistoryFill, Resolution, taker_fee
from polyhunter.domain.ledger import ZERO, Ledger
from polyhunter.domain.order_math import market_buy_notional
from polyhunter.domain.signal import Side, Signal, to_micro
from polyhunter.domain.sizing import SizingContext, size_copy

VENUE_MIN_NOTIONAL = Decimal(1)  # as the engine: marketable orders must be worth at least $1
ROUNDING_MARGIN = Decimal("0.01")
DEFAULT_TICK = Decimal("0.01")
SLIPPAGE_EXCEEDED = "SLIPPAGE_EXCEEDED"
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
BELOW_VENUE_MINIMUM = "BELOW_VENUE_MINIMUM"
MARKET_RESOLVED = "MARKET_RESOLVED"


@dataclass(frozen=True, slots=True)
class FollowerPlan:
    name: str
    user_id: int
    starting_cash: Decimal
    configs: tuple[CopyConfig, ...]
    daily_cap_usdc: Decimal | None = None
    max_trade_usdc: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Priced:
    price: Decimal  # the average price of the fill
    worst: Decimal  # the last level it took (what the slippage budget is checked against)
    shares: Decimal  # what filled (at most what was asked)


class CopyPricer(Protocol):
    def fill(self, signal: Signal, shares: Decimal, tick: Decimal) -> Priced:
        """The fill a copy of `signal` for `shares` would have got."""


@dataclass(frozen=True, slots=True)
class BacktestRules:
    limits: GuardrailLimits  # the platform's [guardrails]
    max_slippage_bps: int = 200  # the engine's default budget (a config's own wins)
    slippage_ticks: int = 1
    ticks: dict[str, Decimal] = field(default_factory=dict)  # by condition id
    fee_rates: dict[str, Decimal] = field(default_factory=dict)  # by condition id
    default_fee_rate: Decimal = ZERO
    aggregation_window_ms: int = 60_000
    keep_curve: bool = True
    keep_copies: bool = False
    pricer: CopyPricer | None = None  # None: `copy_price` (`slippage_ticks` past the print, any size)


@dataclass(frozen=True, slots=True)
class CopyFill:
    follower: str
    config_id: int
    signal_key: str
    timestamp: int
    asset: str
    side: Side
    shares: Decimal
    price: Decimal
    leader_price: Decimal
    fee: Decimal


@dataclass(slots=True)
class FollowerRun:
    plan: FollowerPlan
    ledger: Ledger
    copies: int = 0  # orders filled
    aggregated: int = 0  # copies parked below the minimum and sent in a later copy's order
    skipped: Counter[str] = field(default_factory=Counter)
    slippage: Decimal = ZERO  # USDC paid over (BUY) or received under (SELL) the leader's price
    spent: dict[str, Decimal] = field(default_factory=dict)  # BUY notional by UTC day
    exposure: dict[tuple[int, str], Decimal] = field(default_factory=dict)  # (config, condition) USDC
    config_shares: dict[tuple[int, str], Decimal] = field(default_factory=dict)  # (config, token)
    fills: list[CopyFill] = field(default_factory=list)


def to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding) * tick


def copy_price(side: Side, leader_price: Decimal, tick: Decimal, ticks: int) -> Decimal:
    """The modelled fill price: `ticks` ticks against the follower from the leader's print."""
    if side is Side.BUY:
        price = to_tick(leader_price, tick, ROUND_FLOOR) + ticks * tick
    else:
        price = to_tick(leader_price, tick, ROUND_CEILING) - ticks * tick
    return min(max(price, tick), 1 - tick)


class Backtest:
    def __init__(self, rules: BacktestRules, followers: list[FollowerPlan]) -> None:
        self.rules = rules
        self.runs = [FollowerRun(f, Ledger.with_cash(f.starting_cash)) for f in followers]
        self._by_leader: dict[str, list[tuple[FollowerRun, CopyConfig]]] = {}
        for run in self.runs:
            for cfg in run.plan.configs:
                self._by_leader.setdefault(cfg.leader.lower(), []).append((run, cfg))
        self.leaders = Ledger()  # every leader's shares, for sell mirroring and PROPORTIONAL equity
        self._leader_shares: dict[tuple[str, str], Decimal] = {}
        self._resolved: dict[str, Resolution] = {}
        self._ordinals: Counter[tuple[str, str, str, str, int]] = Counter()
        self._global_spent: dict[str, Decimal] = {}
        self._aggregator = Aggregator(rules.aggregation_window_ms)
        self._parked: dict[str, tuple[FollowerRun, CopyConfig]] = {}  # signal key:config -> owner
        self.fills = 0
        self.last_ts = 0

    # -- events ------------------------------------------------------------------------------------
    def on_fill(self, fill: HistoryFill) -> None:
        if self.fills == 0:  # every curve starts at the starting cash, the second before the first fill
            for run in self.runs:
                run.ledger.record(fill.timestamp - 1, keep_curve=self.rules.keep_curve)
        self.fills += 1
        self.last_ts = fill.timestamp
        self._expire(fill.timestamp)
        ordinal_key = (fill.tx_hash, fill.leader, fill.asset, str(fill.side), to_micro(fill.size))
        ordinal = self._ordinals[ordinal_key]
        self._ordinals[ordinal_key] += 1
        signal = fill.signal(ordinal)
        before = self._leader_shares.get((fill.leader, fill.asset), ZERO)
        for run, cfg in self._by_leader.get(fill.leader, []):
            self._copy(run, cfg, signal, before, fill.timestamp)
        sign = 1 if fill.side is Side.BUY else -1
        self._leader_shares[(fill.leader, fill.asset)] = max(ZERO, before + sign * fill.size)
        self._mark(fill.asset, fill.price, fill.timestamp)

    def on_resolution(self, res: Resolution, at: int) -> None:
        self._resolved[res.asset] = res
        for run in self.runs:
            if res.asset in run.ledger.positions:
                run.ledger.resolve(res.asset, res.condition_id, res.payout, at)
                for key in [k for k in run.config_shares if k[1] == res.asset]:
                    del run.config_shares[key]
                for key in [k for k in run.exposure if k[1] == res.condition_id]:
                    run.exposure[key] = run.ledger.market_cost(res.condition_id)
                run.ledger.record(at, keep_curve=self.rules.keep_curve)
            else:
                run.ledger.mark(res.asset, res.payout)
        for leader, asset in [k for k in self._leader_shares if k[1] == res.asset]:
            del self._leader_shares[(leader, asset)]
        self.leaders.marks[res.asset] = res.payout

    def finish(self, marks: dict[str, Decimal]) -> list[FollowerRun]:
        """Copies still parked below the minimum end SKIPPED; open positions take the end marks."""
        for _, bucket in self._aggregator.expire(0, everything=True):
            for key in bucket.signal_keys:
                run, _cfg = self._parked.pop(key)
                run.skipped[BELOW_VENUE_MINIMUM] += 1
        for run in self.runs:
            for asset, price in marks.items():
                if asset in run.ledger.positions:
                    run.ledger.mark(asset, price)
            run.ledger.record(self.last_ts, keep_curve=self.rules.keep_curve)
        return self.runs

    # -- one copy ----------------------------------------------------------------------------------
    def _mark(self, asset: str, price: Decimal, ts: int) -> None:
        self.leaders.marks[asset] = price
        for run in self.runs:
            if asset in run.ledger.positions:
                run.ledger.mark(asset, price)
                run.ledger.record(ts, keep_curve=self.rules.keep_curve)
            else:
                run.ledger.marks[asset] = price

    def _leader_equity(self, leader: str) -> Decimal:
        marks = self.leaders.marks
        return sum(
            (
                shares * marks.get(asset, ZERO)
                for (who, asset), shares in self._leader_shares.items()
                if who == leader
            ),
            ZERO,
        )

    def _limits(self, plan: FollowerPlan) -> GuardrailLimits:
        base = self.rules.limits
        return GuardrailLimits(
            base.max_trade_usdc
            if plan.max_trade_usdc is None
            else min(base.max_trade_usdc, plan.max_trade_usdc),
            base.daily_user_cap_usdc
            if plan.daily_cap_usdc is None
            else min(base.daily_user_cap_usdc, plan.daily_cap_usdc),
            base.global_daily_cap_usdc,
            False,  # a backtest sends nothing either way: dry run would veto every copy
        )

    def _copy(
        self, run: FollowerRun, cfg: CopyConfig, signal: Signal, leader_before: Decimal, ts: int
    ) -> None:
        if signal.asset in self._resolved:
            run.skipped[MARKET_RESOLVED] += 1
            return
        skip = check_filters(cfg, signal, MarketRef(signal.condition_id, signal.slug))
        if skip is not None:
            run.skipped[str(skip)] += 1
            return
        ledger = run.ledger
        held = min(ledger.shares(signal.asset), run.config_shares.get((cfg.id, signal.asset), ZERO))
        ctx = SizingContext(
            follower_position_shares=held,
            follower_market_notional=run.exposure.get((cfg.id, signal.condition_id), ZERO),
            leader_position_before=leader_before,
            follower_equity=ledger.equity,
            leader_equity=self._leader_equity(signal.leader)
            if cfg.sizing is SizingMode.PROPORTIONAL
            else ZERO,
        )
        size = size_copy(cfg, signal, ctx)
        if size.skip is not None:
            run.skipped[str(size.skip)] += 1
            return
        day = datetime.fromtimestamp(ts, UTC).date().isoformat()
        buying = signal.side is Side.BUY
        veto = check_guardrails(
            self._limits(run.plan),
            GuardrailInput(
                size.notional,
                run.spent.get(day, ZERO) if buying else ZERO,
                self._global_spent.get(day, ZERO) if buying else ZERO,
                False,
            ),
        )
        if veto is not None:
            run.skipped[str(veto.rule)] += 1
            return
        tick = self.rules.ticks.get(signal.condition_id, DEFAULT_TICK)
        max_bps = cfg.max_slippage_bps if cfg.max_slippage_bps is not None else self.rules.max_slippage_bps
        budget = slippage_limit_price(signal.side, signal.price, max_bps)
        budget = to_tick(budget, tick, ROUND_FLOOR if buying else ROUND_CEILING)
        priced = self._price(signal, size.shares, tick)
        if (buying and priced.worst > budget) or (not buying and priced.worst < budget) or not priced.shares:
            run.skipped[SLIPPAGE_EXCEEDED] += 1
            return
        shares, price = priced.shares, priced.price
        raw = shares * price
        venue = (
            market_buy_notional(shares, price, tick)
            if buying and raw < VENUE_MIN_NOTIONAL + ROUNDING_MARGIN
            else raw
        )
        if venue < VENUE_MIN_NOTIONAL:
            if not cfg.aggregate_below_minimum:
                run.skipped[BELOW_VENUE_MINIMUM] += 1
                return
            parked = f"{signal.key}:{cfg.id}:{run.plan.user_id}"
            self._parked[parked] = (run, cfg)
            released = self._aggregator.add(
                (cfg.id * 1_000_003 + run.plan.user_id, signal.asset, signal.side),
                parked,
                shares,
                venue,
                VENUE_MIN_NOTIONAL,
                ts * 1000,
            )
            if released is None:
                return
            for key in released.signal_keys:
                self._parked.pop(key, None)
            run.aggregated += len(released.signal_keys) - 1
            priced = self._price(signal, released.shares, tick)
            shares, price = priced.shares, priced.price
        self._execute(run, cfg, signal, shares, price, tick, ts, day)

    def _price(self, signal: Signal, shares: Decimal, tick: Decimal) -> Priced:
        if self.rules.pricer is not None:
            return self.rules.pricer.fill(signal, shares, tick)
        price = copy_price(signal.side, signal.price, tick, self.rules.slippage_ticks)
        return Priced(price, price, shares)

    def _execute(
        self,
        run: FollowerRun,
        cfg: CopyConfig,
        signal: Signal,
        shares: Decimal,
        price: Decimal,
        tick: Decimal,
        ts: int,
        day: str,
    ) -> None:
        ledger = run.ledger
        rate = self.rules.fee_rates.get(signal.condition_id, self.rules.default_fee_rate)
        fee = taker_fee(rate, shares, price)
        cost = shares * price
        if signal.side is Side.BUY:
            if cost + fee > ledger.cash:
                run.skipped[INSUFFICIENT_BALANCE] += 1
                return
            ledger.buy(signal.asset, signal.condition_id, shares, price, ts)
            run.spent[day] = run.spent.get(day, ZERO) + cost
            self._global_spent[day] = self._global_spent.get(day, ZERO) + cost
            run.slippage += shares * (price - signal.price)
            sign = 1
        else:
            if shares > ledger.shares(signal.asset):
                run.skipped[INSUFFICIENT_BALANCE] += 1
                return
            ledger.sell(signal.asset, signal.condition_id, shares, price, ts)
            run.slippage += shares * (signal.price - price)
            sign = -1
        ledger.fee(signal.condition_id, fee)
        key = (cfg.id, signal.condition_id)
        run.exposure[key] = max(ZERO, run.exposure.get(key, ZERO) + sign * cost)
        held = (cfg.id, signal.asset)
        run.config_shares[held] = max(ZERO, run.config_shares.get(held, ZERO) + sign * shares)
        ledger.mark(signal.asset, signal.price)  # valued at the leader's print, like every position
        ledger.record(ts, keep_curve=self.rules.keep_curve)
        run.copies += 1
        if self.rules.keep_copies:
            run.fills.append(
                CopyFill(
                    run.plan.name,
                    cfg.id,
                    signal.key,
                    ts,
                    signal.asset,
                    signal.side,
                    shares,
                    price,
                    signal.price,
                    fee,
                )
            )

    def _expire(self, ts: int) -> None:
        for _, bucket in self._aggregator.expire(ts * 1000):
            for key in bucket.signal_keys:
                owner = self._parked.pop(key, None)
                if owner is not None:
                    owner[0].skipped[BELOW_VENUE_MINIMUM] += 1


def run_backtest(
    fills: list[HistoryFill],
    resolutions: dict[str, Resolution],
    marks: dict[str, Decimal],
    rules: BacktestRules,
    followers: list[FollowerPlan],
    on_progress: Callable[[int, int], None] | None = None,
) -> list[FollowerRun]:
    """Replay `fills` (time order) with the resolutions at their times (those without a time after the
    last fill), then value what is open at `marks`. `on_progress(done, total)` every 10,000 fills."""
    bt = Backtest(rules, followers)
    pending = sorted(
        (r for r in resolutions.values() if r.timestamp is not None), key=lambda r: r.timestamp or 0
    )
    timeless = [r for r in resolutions.values() if r.timestamp is None]
    at = 0
    for i, fill in enumerate(fills):
        while at < len(pending) and (pending[at].timestamp or 0) < fill.timestamp:
            bt.on_resolution(pending[at], pending[at].timestamp or 0)
            at += 1
        bt.on_fill(fill)
        if on_progress is not None and (i + 1) % 10_000 == 0:
            on_progress(i + 1, len(fills))
    for res in pending[at:]:
        bt.on_resolution(res, max(res.timestamp or 0, bt.last_ts))
    for res in timeless:
        bt.on_resolution(res, bt.last_ts)
    if on_progress is not None:
        on_progress(len(fills), len(fills))
    return bt.finish(marks)
