"""An account's positions at average cost, its realized PnL, and the drawdown of its equity curve.

Used for a leader (analytics: cash is PnL, starting at 0) and for a backtested follower (cash starts at
its starting cash). Pure Decimal.

* BUY adds shares and their cost; SELL realizes ``shares x (price - average cost)``; shares sold
  beyond what the ledger holds were bought before the history began: their cost is unknown, so that
  part moves neither cash nor PnL, and the sell is counted in ``unmatched_sells``.
* A resolution pays ``payout`` per share held and closes the position.
* Fees are taken from cash and from realized PnL (PnL is net of fees).
* Equity = cash + shares x mark over open positions; a token's mark is the last price seen for it
  (a fill, a resolution's payout). The drawdown is the largest fall of equity from an earlier peak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    shares: Decimal = ZERO
    cost: Decimal = ZERO
    opened_at: int = 0
    condition_id: str = ""

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.shares if self.shares > 0 else ZERO


@dataclass(slots=True)
class Closed:
    """A position that went back to zero shares: how long it was held and what it made."""

    asset: str
    held_s: int


@dataclass(slots=True)
class Ledger:
    cash: Decimal = ZERO
    starting: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    bought: Decimal = ZERO  # USDC put into BUYs (before fees)
    volume: Decimal = ZERO  # USDC traded, both sides
    unmatched_sells: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    market_pnl: dict[str, Decimal] = field(default_factory=dict)  # realized by condition id
    closed: list[Closed] = field(default_factory=list)
    held_value: Decimal = ZERO  # sum of shares x mark over open positions (kept incrementally)
    peak: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    curve: list[tuple[int, Decimal]] = field(default_factory=list)

    @classmethod
    def with_cash(cls, cash: Decimal) -> Ledger:
        return cls(cash=cash, starting=cash, peak=cash)

    @property
    def equity(self) -> Decimal:
        return self.cash + self.held_value

    @property
    def unrealized(self) -> Decimal:
        return self.held_value - sum((p.cost for p in self.positions.values()), ZERO)

    def shares(self, asset: str) -> Decimal:
        pos = self.positions.get(asset)
        return pos.shares if pos is not None else ZERO

    def market_cost(self, condition_id: str) -> Decimal:
        return sum((p.cost for p in self.positions.values() if p.condition_id == condition_id), ZERO)

    def mark(self, asset: str, price: Decimal) -> None:
        """Value `asset` at `price` from now on (moves equity by what is held of it)."""
        pos = self.positions.get(asset)
        if pos is not None:
            self.held_value += pos.shares * (price - self.marks.get(asset, price))
        self.marks[asset] = price

    def _pnl(self, condition_id: str, amount: Decimal) -> None:
        self.realized += amount
        self.market_pnl[condition_id] = self.market_pnl.get(condition_id, ZERO) + amount

    def buy(self, asset: str, condition_id: str, shares: Decimal, price: Decimal, ts: int) -> None:
        self.mark(asset, price)
        pos = self.positions.get(asset)
        if pos is None:
            pos = self.positions[asset] = Position(opened_at=ts, condition_id=condition_id)
        cost = shares * price
        pos.shares += shares
        pos.cost += cost
        self.cash -= cost
        self.held_value += shares * price
        self.bought += cost
        self.volume += cost
        self.market_pnl.setdefault(condition_id, ZERO)

    def sell(self, asset: str, condition_id: str, shares: Decimal, price: Decimal, ts: int) -> None:
        self.mark(asset, price)
        self.volume += shares * price
        self.market_pnl.setdefault(condition_id, ZERO)
        pos = self.positions.get(asset)
        held = pos.shares if pos is not None else ZERO
        matched = min(shares, held)
        if shares > held:  # bought before the history began: cost unknown, left out of cash and PnL
            self.unmatched_sells += 1
        if pos is None or matched <= 0:
            return
        released = pos.avg_price * matched
        self.cash += matched * price
        self._pnl(condition_id, matched * price - released)
        self.held_value -= matched * price
        pos.shares -= matched
        pos.cost -= released
        if pos.shares <= 0:
            self._close(asset, pos, ts)

    def fee(self, condition_id: str, amount: Decimal) -> None:
        if amount <= 0:
            return
        self.cash -= amount
        self.fees += amount
        self._pnl(condition_id, -amount)

    def resolve(self, asset: str, condition_id: str, payout: Decimal, ts: int) -> None:
        """Redeem what is held of `asset` at `payout` per share."""
        self.mark(asset, payout)
        pos = self.positions.get(asset)
        if pos is None:
            return
        self.cash += pos.shares * payout
        self.held_value -= pos.shares * payout
        self._pnl(condition_id, pos.shares * payout - pos.cost)
        self._close(asset, pos, ts)

    def _close(self, asset: str, pos: Position, ts: int) -> None:
        self.closed.append(Closed(asset, max(0, ts - pos.opened_at)))
        del self.positions[asset]

    def record(self, ts: int, *, keep_curve: bool = True) -> None:
        """A point of the equity curve at `ts` (one per second: a later point of the same second
        replaces it) and the running peak and drawdown."""
        equity = self.equity
        if equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.max_drawdown:
            self.max_drawdown = self.peak - equity
        if not keep_curve:
            return
        if self.curve and self.curve[-1][0] == ts:
            self.curve[-1] = (ts, equity)
        else:
            self.curve.append((ts, equity))


def max_drawdown(curve: list[Decimal], start: Decimal = ZERO) -> Decimal:
    """The largest fall from a running peak (the peak starts at `start`)."""
    peak, worst = start, ZERO
    for value in curve:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst
