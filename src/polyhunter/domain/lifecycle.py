"""Markets end and fills pay fees: the pure rules of a market's life after the copy.

* A market that closes takes no more orders: a copy into it is SKIPPED `MARKET_CLOSED` (not FAILED).
* A resolved market pays 1 USDC per winning share to whoever redeems it; losing shares pay nothing.
  A follower's realized PnL in a market is what it got (payout plus sale proceeds) minus what it paid
  (purchases plus every fee), all in micro-USDC, exact to the base unit.
* The venue's taker fee (CLOB V2, protocol reference section 3.6): ``fee = C * rate * p * (1 - p)`` for C
  shares at price p, rounded half-up to 5 decimals of USDC; a BUY pays it in collateral on top of the
  order's amount. Preflight holds the most such an order can owe: the fee at ``min(limit, 0.5)`` plus one
  fee quantum (the venue reserves the same bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum

MARKET_CLOSED = "MARKET_CLOSED"  # the reason of a copy into a market that no longer takes orders
FEE_QUANTUM = Decimal("0.00001")  # fees are rounded to 5 decimals of USDC
FEE_MARGIN = Decimal("0.00001")  # the venue reserves 10 micro-USDC over the bound: so do we
HALF = Decimal("0.5")
LOT = Decimal("0.01")  # shares are signed to 2 decimals


class RedemptionState(StrEnum):
    PENDING = "PENDING"  # the market resolved; the payout is being (or to be) collected
    REDEEMED = "REDEEMED"  # collected and recorded with its PnL


@dataclass(frozen=True, slots=True)
class MarketState:
    """What the venue says of a market's life: open, closed, resolved (and to which token)."""

    condition_id: str
    tokens: tuple[str, ...]
    closed: bool
    accepting_orders: bool
    winning_token: str | None = None
    tick_size: Decimal | None = None

    @property
    def resolved(self) -> bool:
        return self.winning_token is not None


@dataclass(frozen=True, slots=True)
class MarketBook:
    """A follower's record in one market, from its executed copies (micro-USDC)."""

    bought_micro: int = 0  # paid for shares (fees excluded)
    sold_micro: int = 0  # received for shares sold (fees excluded)
    fees_micro: int = 0  # every fee paid on the market's fills


def realized_pnl_micro(payout_micro: int, book: MarketBook) -> int:
    """payout + proceeds - cost - fees, to the base unit."""
    return payout_micro + book.sold_micro - book.bought_micro - book.fees_micro


def taker_fee(shares: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """The venue's taker fee in USDC for `shares` filled at `price` (one level), rounded to 5 decimals."""
    if rate <= 0 or shares <= 0:
        return Decimal(0)
    return (shares * rate * price * (1 - price)).quantize(FEE_QUANTUM, ROUND_HALF_UP)


def fee_of_levels(levels: list[tuple[Decimal, Decimal]], rate: Decimal) -> Decimal:
    """The fee of one taker fill across book levels [(price, shares)]: the exact sum, rounded once."""
    if rate <= 0:
        return Decimal(0)
    exact = sum((s * rate * p * (1 - p) for p, s in levels), Decimal(0))
    return exact.quantize(FEE_QUANTUM, ROUND_HALF_UP)


def buy_fee_bound(shares: Decimal, limit: Decimal, rate: Decimal) -> Decimal:
    """The most a BUY of `shares` with worst price `limit` can owe in fees (what preflight holds)."""
    if rate <= 0 or shares <= 0:
        return Decimal(0)
    return taker_fee(shares, min(limit, HALF), rate) + FEE_MARGIN


def shares_affordable(available: Decimal, limit: Decimal, rate: Decimal) -> Decimal:
    """The most shares (to the lot) a BUY at `limit` can take with `available` USDC, fee included."""
    if available <= 0 or limit <= 0:
        return Decimal(0)
    q = min(limit, HALF)
    per_share = limit + (rate * q * (1 - q) if rate > 0 else Decimal(0))
    budget = available - (FEE_MARGIN + FEE_QUANTUM if rate > 0 else Decimal(0))
    shares = (budget / per_share).quantize(LOT, ROUND_DOWN)

    def fits(n: Decimal) -> bool:
        return n * limit + buy_fee_bound(n, limit, rate) <= available

    while shares > 0 and not fits(shares):  # the estimate is within a few lots: step to the most that fits
        shares -= LOT
    while fits(shares + LOT):
        shares += LOT
    return max(shares, Decimal(0))
