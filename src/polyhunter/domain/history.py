"""A leader's recorded history as the analytics and the backtest read it: fills, resolutions, marks.

Pure records; the file and Data API readers (`polyhunter.analytics`) build them from recorded rows.

* `HistoryFill`: one leader fill (a Data API ``/trades`` or ``/activity`` TRADE row, or an RTDS frame).
* `Resolution`: a token settled at `payout` USDC per share (1 for the winning outcome, 0 for the
  others) at `timestamp` (None: known to have resolved, not when; it is applied after the last fill).
* marks: the price an open position is valued at when the history ends (a ``/positions`` row's
  ``curPrice``); without one, the last price the history printed for the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key, to_micro

TICKS = (Decimal("0.01"), Decimal("0.001"), Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class HistoryFill:
    leader: str  # lower-case funder address
    asset: str
    condition_id: str  # lower case
    side: Side
    size: Decimal  # shares
    price: Decimal
    timestamp: int  # epoch seconds
    tx_hash: str = ""
    fee: Decimal = Decimal(0)  # USDC the leader paid (RTDS rows carry it)
    slug: str = ""
    outcome: str = ""

    @property
    def notional(self) -> Decimal:
        return self.size * self.price

    def signal(self, ordinal: int = 0) -> Signal:
        """The signal the copy engine would have seen for this fill (its key as every source makes it)."""
        at = datetime.fromtimestamp(self.timestamp, UTC)
        key = signal_key(self.tx_hash, self.leader, self.asset, self.side, to_micro(self.size), ordinal)
        return Signal(
            key=key,
            leader=self.leader,
            asset=self.asset,
            condition_id=self.condition_id,
            side=self.side,
            size=self.size,
            price=self.price,
            tx_hash=self.tx_hash,
            fill_time=at,
            seen_at=at,
            source=SourceKind.POLL,
            slug=self.slug,
            outcome=self.outcome,
        )


@dataclass(frozen=True, slots=True)
class Resolution:
    asset: str
    condition_id: str
    payout: Decimal  # USDC per share, 0..1
    timestamp: int | None = None


@dataclass(slots=True)
class History:
    """Fills in time order (ties keep the file's order), resolutions and end marks by token."""

    fills: list[HistoryFill] = field(default_factory=list)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # rows read but not used, by kind

    def leaders(self) -> list[str]:
        return sorted({f.leader for f in self.fills})

    def of_leader(self, leader: str) -> list[HistoryFill]:
        leader = leader.lower()
        return [f for f in self.fills if f.leader == leader]


def infer_tick(prices: list[Decimal]) -> Decimal:
    """The coarsest venue tick every price lies on (0.01, 0.001, else 0.0001), as the simulator's
    replay sets a replayed market's tick."""
    for tick in TICKS:
        if all(p % tick == 0 for p in prices):
            return tick
    return TICKS[-1]


def market_ticks(fills: list[HistoryFill]) -> dict[str, Decimal]:
    """The tick of each market (condition id) from the prices its fills printed."""
    prices: dict[str, list[Decimal]] = {}
    for f in fills:
        prices.setdefault(f.condition_id, []).append(f.price)
    return {cid: infer_tick(ps) for cid, ps in prices.items()}


def fee_rates_from_fills(fills: list[HistoryFill]) -> dict[str, Decimal]:
    """Each market's taker fee rate as its recorded fees show it: ``fee = rate x shares x p x (1 - p)``
    (the venue's V2 schedule), from the first fill of the market that paid one."""
    rates: dict[str, Decimal] = {}
    for f in fills:
        if f.fee > 0 and f.condition_id not in rates:
            base = f.size * f.price * (1 - f.price)
            if base > 0:
                rates[f.condition_id] = (f.fee / base).quantize(Decimal("0.0001"))
    return rates


def taker_fee(rate: Decimal, shares: Decimal, price: Decimal) -> Decimal:
    """The venue's taker fee in USDC (rounded to 5 decimals, the venue's precision)."""
    if rate <= 0:
        return Decimal(0)
    return (rate * shares * price * (1 - price)).quantize(Decimal("0.00001"))


def within(history: History, start: int | None, end: int | None) -> History:
    """The part of `history` in [start, end) (epoch seconds; None: unbounded): its fills, and the
    resolutions known by `end` (a resolution without a time is kept)."""
    if start is None and end is None:
        return history

    def inside(ts: int) -> bool:
        return (start is None or ts >= start) and (end is None or ts < end)

    return History(
        fills=[f for f in history.fills if inside(f.timestamp)],
        resolutions={
            a: r
            for a, r in history.resolutions.items()
            if r.timestamp is None or end is None or r.timestamp < end
        },
        marks=dict(history.marks),
        ignored=dict(history.ignored),
    )
