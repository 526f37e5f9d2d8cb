"""What the engine asks an executor to do, and what comes back. Pure types."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.book_math import BookSide
from polyhunter.domain.signal import Side


@dataclass(frozen=True, slots=True)
class OrderBook:
    token_id: str
    bids: BookSide  # best first
    asks: BookSide  # best first
    tick_size: Decimal
    min_order_size: Decimal
    neg_risk: bool
    timestamp_ms: int
    last_trade_price: Decimal | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids.levels[0].price if self.bids.levels else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks.levels[0].price if self.asks.levels else None

    @property
    def midpoint(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2


class OrderType(StrEnum):
    FOK = "FOK"
    FAK = "FAK"
    GTC = "GTC"
    GTD = "GTD"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    copy_trade_id: int
    signal_key: str
    config_id: int
    user_id: int
    token_id: str
    condition_id: str
    side: Side
    shares: Decimal
    limit_price: Decimal  # worst acceptable price, on the tick
    reference_price: Decimal  # the leader's price (for slippage)
    tick_size: Decimal
    neg_risk: bool
    order_type: OrderType = OrderType.FOK
    min_order_size: Decimal = Decimal(0)
    client_id: str = ""  # stable per copy trade: lets an unknown submit be reconciled


class ExecStatus(StrEnum):
    FILLED = "FILLED"
    PARTIAL = "PARTIAL"
    KILLED = "KILLED"  # a FOK/FAK the venue killed with nothing filled; nothing spent, nothing moved
    REJECTED = "REJECTED"  # the venue said no (funds, price, ...); nothing filled
    UNKNOWN = "UNKNOWN"  # we could not tell whether the order reached the venue


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    status: ExecStatus
    filled_shares: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    venue_order_id: str = ""
    error: str = ""
    tx_hashes: tuple[str, ...] = field(default_factory=tuple)
    retryable: bool = False
    amount: Decimal | None = None  # the exact USDC paid (BUY) or received (SELL), fee excluded, if known
    market_closed: bool = False  # refused: the market takes no more orders (closed or resolved)
    venue_tick: Decimal | None = None  # refused: the price is off the market's tick (the venue's tick)
    # filled by a fleet worker on its own float (PROXY custody): the copy is SETTLEMENT_PENDING, the
    # executor has queued its settlement, and the settlement (not the engine) makes it EXECUTED
    settles_later: bool = False

    @property
    def notional(self) -> Decimal:
        return self.amount if self.amount is not None else self.filled_shares * self.avg_price


@dataclass(frozen=True, slots=True)
class Funds:
    """What a follower can put into an order: its balance (USDC, or shares of one token) and what the
    exchange contracts may move of it. ``None`` allowance: unlimited, or not reported by the venue.

    V2 has two exchanges: orders on neg-risk markets settle through the neg-risk exchange, so they need
    its allowance; the others need the CTF exchange's.
    """

    balance: Decimal
    allowance: Decimal | None = None  # the CTF exchange's
    neg_risk_allowance: Decimal | None = None  # the neg-risk exchange's

    def allowance_for(self, neg_risk: bool) -> Decimal | None:
        return self.neg_risk_allowance if neg_risk else self.allowance

    def spendable(self, neg_risk: bool) -> Decimal:
        allowance = self.allowance_for(neg_risk)
        return self.balance if allowance is None else min(self.balance, allowance)
