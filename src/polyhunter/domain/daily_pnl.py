"""A copy config's PnL per UTC day, from its executed copies and its follower's redemptions (pure).

Each config keeps an average-cost `Ledger` (domain/ledger.py). Events are applied in time order; at
the end of each UTC day, from the config's first event to `until`, one `DayPnl`:

* ``realized``: what the day realized, net of its fees (a SELL's proceeds less the average cost it
  releases, a redemption's payout less the cost of what it redeems, less the day's fees);
* ``fees``: the fees of the day's fills;
* ``unrealized``: open shares at the day's end mark less their cost. The mark of a token is the last
  price it filled at (any config's fill, up to that day's end); on the last day (`until`, today) a
  live mark (the venue's mid, or its last trade) replaces it where one is given;
* ``invested``: the cost of the open positions at the day's end.

A redemption pays 1 per share of the winning token and 0 for the other tokens of the market, to every
config of the follower holding them. The same events give the same rows: a restart recomputes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from polyhunter.domain.ledger import Ledger
from polyhunter.domain.signal import Side

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class FillEvent:
    """An executed copy: `notional` is the USDC it moved (before its fee)."""

    at: datetime
    config_id: int
    user_id: int
    asset: str
    condition_id: str
    side: Side
    shares: Decimal
    notional: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class RedeemEvent:
    """A follower's redeemed market: its winning token pays 1 per share."""

    at: datetime
    user_id: int
    condition_id: str
    winning_token: str


@dataclass(frozen=True, slots=True)
class DayPnl:
    config_id: int
    user_id: int
    day: date
    realized: Decimal
    fees: Decimal
    unrealized: Decimal
    invested: Decimal


@dataclass(slots=True)
class _Config:
    user_id: int
    first_day: date
    ledger: Ledger = field(default_factory=Ledger)
    assets: dict[str, str] = field(default_factory=dict)  # token -> condition id, every token ever held


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _end_state(book: _Config, marks: Mapping[str, Decimal]) -> tuple[Decimal, Decimal]:
    """(unrealized, invested) of the open positions at `marks` (cost where a token has none)."""
    unrealized = invested = ZERO
    for asset, pos in book.ledger.positions.items():
        if pos.shares <= 0:
            continue
        mark = marks.get(asset)
        invested += pos.cost
        if mark is not None:
            unrealized += pos.shares * mark - pos.cost
    return unrealized, invested


@dataclass(slots=True)
class _Series:
    until: date
    live_marks: Mapping[str, Decimal]
    books: dict[int, _Config] = field(default_factory=dict)
    last_price: dict[str, Decimal] = field(default_factory=dict)
    before: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)  # realized, fees at last close
    out: list[DayPnl] = field(default_factory=list)

    def close_day(self, day: date) -> None:
        marks: Mapping[str, Decimal] = self.last_price
        if day == self.until and self.live_marks:
            marks = {**self.last_price, **self.live_marks}
        for config_id, book in sorted(self.books.items()):
            if book.first_day > day:
                continue
            realized0, fees0 = self.before.get(config_id, (ZERO, ZERO))
            unrealized, invested = _end_state(book, marks)
            led = book.ledger
            self.out.append(
                DayPnl(
                    config_id,
                    book.user_id,
                    day,
                    led.realized - realized0,
                    led.fees - fees0,
                    unrealized,
                    invested,
                )
            )
            self.before[config_id] = (led.realized, led.fees)

    def fill(self, event: FillEvent, day: date, ts: int) -> None:
        book = self.books.get(event.config_id)
        if book is None:
            book = self.books[event.config_id] = _Config(event.user_id, day)
        book.assets[event.asset] = event.condition_id
        if event.shares > 0:
            price = event.notional / event.shares
            self.last_price[event.asset] = price
            if event.side is Side.BUY:
                book.ledger.buy(event.asset, event.condition_id, event.shares, price, ts)
            else:
                book.ledger.sell(event.asset, event.condition_id, event.shares, price, ts)
        book.ledger.fee(event.condition_id, event.fee)

    def redeem(self, event: RedeemEvent, ts: int) -> None:
        for book in self.books.values():
            for asset, cid in book.assets.items():
                if cid != event.condition_id:
                    continue
                payout = ONE if asset == event.winning_token else ZERO
                self.last_price[asset] = payout  # the market is over: what each token is worth now
                if book.user_id == event.user_id and asset in book.ledger.positions:
                    book.ledger.resolve(asset, cid, payout, ts)


def daily_series(
    fills: Iterable[FillEvent],
    redemptions: Iterable[RedeemEvent],
    until: date,
    live_marks: Mapping[str, Decimal] | None = None,
) -> list[DayPnl]:
    """Every config's rows from its first event's day to `until`, by (config, day)."""
    events: list[tuple[datetime, int, FillEvent | RedeemEvent]] = [(f.at, 0, f) for f in fills]
    events += [(r.at, 1, r) for r in redemptions]  # a redemption after the same instant's fills
    events.sort(key=lambda e: (e[0], e[1]))
    series = _Series(until, live_marks or {})
    day: date | None = None
    for at, _, event in events:
        event_day = utc_day(at)
        if event_day > until:
            break
        while day is not None and day < event_day:
            series.close_day(day)
            day += timedelta(days=1)
        day = event_day
        if isinstance(event, FillEvent):
            series.fill(event, event_day, int(at.timestamp()))
        else:
            series.redeem(event, int(at.timestamp()))
    while day is not None and day <= until:
        series.close_day(day)
        day += timedelta(days=1)
    return series.out


def open_assets(fills: Iterable[FillEvent]) -> set[str]:
    """Tokens with shares bought and not all sold (what a live mark is wanted for)."""
    net: dict[str, Decimal] = {}
    for f in fills:
        net[f.asset] = net.get(f.asset, ZERO) + (f.shares if f.side is Side.BUY else -f.shares)
    return {asset for asset, shares in net.items() if shares > 0}
