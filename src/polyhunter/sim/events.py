"""What the engine reports: events, submit/cancel results and book snapshots (frozen dataclasses).

Amounts are integer micro-units (``size``, ``usdc``, ``fee``); prices are ``Decimal``. The helpers
``fmt_micro``/``fmt_decimal`` in ``units.py`` print them the way the live API does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.signal import Side
from polyhunter.sim.orders import MatchType, OrderView
from polyhunter.sim.units import micro_to_decimal


class OrderEventKind(StrEnum):
    """``type`` of a user-channel ``order`` event."""

    PLACEMENT = "PLACEMENT"
    UPDATE = "UPDATE"
    CANCELLATION = "CANCELLATION"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order was placed (rested or matched), updated by a fill as maker, or cancelled/expired."""

    kind: OrderEventKind
    order: OrderView
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class MakerFill:
    """One maker order's part of a trade, from the maker's side (a ``maker_orders[]`` entry)."""

    order_id: str
    owner: str
    api_owner: str
    token_id: str
    outcome: str
    side: Side
    price: Decimal  # the maker order's price, in its own token
    size: int  # matched shares (micro)
    usdc: int  # pUSD paid (BUY) or received (SELL) by the maker (micro)
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class OrderFilledLeg:
    """One on-chain ``OrderFilled`` (V2 layout) the settlement of a trade would log."""

    order_id: str
    maker: str
    taker: str
    side: Side
    token_id: str
    maker_amount_filled: int
    taker_amount_filled: int
    fee: int


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One taker order's match against one or more makers, settled in one transaction."""

    trade_id: str
    market: str
    token_id: str
    outcome: str
    taker_order_id: str
    taker_owner: str
    taker_api_owner: str
    side: Side
    price: Decimal  # the taker order's limit price (what the live trade row prints)
    size: int  # shares the taker bought or sold (micro)
    usdc: int  # pUSD the taker paid (BUY) or received (SELL), fee excluded (micro)
    fee: int  # taker fee in pUSD (micro), rounded to 5 decimals
    fee_rate: Decimal
    makers: tuple[MakerFill, ...]
    transaction_hash: str
    timestamp_ms: int

    @property
    def avg_price(self) -> Decimal:
        """Volume-weighted price the taker got (its own token's terms)."""
        return Decimal(self.usdc) / Decimal(self.size)

    @property
    def last_price(self) -> Decimal:
        """Price of the last (worst) maker level in the taker's token: what ``last_trade_price`` shows."""
        last = self.makers[-1]
        return last.price if last.match_type is MatchType.NORMAL else 1 - last.price

    @property
    def match_types(self) -> frozenset[MatchType]:
        return frozenset(m.match_type for m in self.makers)

    @property
    def size_decimal(self) -> Decimal:
        return micro_to_decimal(self.size)

    def order_filled_legs(self, exchange: str) -> tuple[OrderFilledLeg, ...]:
        """``OrderFilled`` logs in emission order: one per maker (taker = the taker's maker address),
        then the taker's (taker = the exchange). Amounts are from each order's own perspective:
        a BUY gives pUSD (makerAmount) for shares (takerAmount), a SELL the reverse."""
        legs = [
            OrderFilledLeg(
                order_id=m.order_id,
                maker=m.owner,
                taker=self.taker_owner,
                side=m.side,
                token_id=m.token_id,
                maker_amount_filled=m.usdc if m.side is Side.BUY else m.size,
                taker_amount_filled=m.size if m.side is Side.BUY else m.usdc,
                fee=0,
            )
            for m in self.makers
        ]
        legs.append(
            OrderFilledLeg(
                order_id=self.taker_order_id,
                maker=self.taker_owner,
                taker=exchange,
                side=self.side,
                token_id=self.token_id,
                maker_amount_filled=self.usdc if self.side is Side.BUY else self.size,
                taker_amount_filled=self.size if self.side is Side.BUY else self.usdc,
                fee=self.fee,
            )
        )
        return tuple(legs)


@dataclass(frozen=True, slots=True)
class BookChange:
    """New total size at one price level of one token (``size == 0`` removes the level), with the
    token's best bid/ask after the change: one ``price_changes[]`` entry. ``side`` BUY = bid level."""

    market: str
    token_id: str
    side: Side
    price: Decimal
    size: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class MarketResolved:
    market: str
    winning_token: str
    winning_outcome: str
    tokens: tuple[str, str]
    payouts: tuple[tuple[str, int], ...]  # (address, pUSD micro) redeemed
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class TickSizeChanged:
    market: str
    token_id: str
    old_tick_size: Decimal
    new_tick_size: Decimal
    timestamp_ms: int


Event = OrderEvent | TradeEvent | BookChange | MarketResolved | TickSizeChanged


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The answer to ``POST /order``: success with status and amounts, or the live error string."""

    order_id: str
    success: bool
    error: str = ""
    status: str = ""  # "matched" | "live" | "" on rejection
    making: int = 0  # micro: BUY = pUSD spent, SELL = shares sold
    taking: int = 0  # micro: BUY = shares received, SELL = pUSD received (before fee)
    trade_ids: tuple[str, ...] = ()
    transaction_hashes: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()

    @property
    def making_amount(self) -> str:
        """Human decimal string as live prints it (``"2.65"``), ``""`` on rejection."""
        return format(micro_to_decimal(self.making), "f") if self.success else ""

    @property
    def taking_amount(self) -> str:
        return format(micro_to_decimal(self.taking), "f") if self.success else ""


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The answer to the cancel endpoints: ``{"canceled": [...], "not_canceled": {id: reason}}``."""

    canceled: tuple[str, ...]
    not_canceled: Mapping[str, str] = field(default_factory=dict)
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: int  # micro-shares


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """One token's book; ``bids`` ascending and ``asks`` descending (best level LAST) like live."""

    market: str
    asset_id: str
    timestamp_ms: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    tick_size: Decimal
    min_order_size: Decimal
    neg_risk: bool
    last_trade_price: Decimal | None
    last_trade_side: Side | None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[-1].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[-1].price if self.asks else None

    @property
    def midpoint(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else (bid + ask) / 2

    @property
    def spread(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else ask - bid
