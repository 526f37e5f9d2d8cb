"""Order types, statuses, the incoming order request and the engine's order record."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.signal import Side
from polyhunter.sim.units import micro_to_decimal


class OrderType(StrEnum):
    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"

    @property
    def can_rest(self) -> bool:
        return self in (OrderType.GTC, OrderType.GTD)


class OrderStatus(StrEnum):
    """Order statuses as the user channel and ``/data/order`` print them."""

    LIVE = "LIVE"
    DELAYED = "DELAYED"
    MATCHED = "MATCHED"
    CANCELED = "CANCELED"
    CANCELED_EXPIRED_ORDER = "CANCELED_EXPIRED_ORDER"
    CANCELED_MARKET_RESOLVED = "CANCELED_MARKET_RESOLVED"
    # a delayed FOK/FAK that could not match when its delay ran out (status string seen live)
    CANCELED_FOK = "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    CANCELED_FAK = (
        "CANCELED_no orders found to match with FAK order. FAK orders are partially filled or killed "
        "if no match is found."
    )

    @property
    def is_open(self) -> bool:
        """Resting in the book (LIVE) or waiting out a market's match delay (DELAYED)."""
        return self is OrderStatus.LIVE or self is OrderStatus.DELAYED


class MatchType(StrEnum):
    NORMAL = "NORMAL"  # BUY vs SELL of the same token
    MINT = "MINT"  # BUY vs BUY of complementary tokens: a full set is minted
    MERGE = "MERGE"  # SELL vs SELL of complementary tokens: a full set is merged


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as the server hands it to the engine, after signature and auth checks.

    ``owner`` is the funder address (the signed order's ``maker``); ``size`` is in micro-shares
    (for a BUY the signed ``takerAmount``, for a SELL the ``makerAmount``); ``price`` the limit
    price per share. ``expiration`` is unix seconds (GTD only, 0 = none). ``api_owner`` is the
    API key the order was posted with; it is carried through untouched.
    """

    order_id: str
    owner: str
    token_id: str
    side: Side
    price: Decimal
    size: int
    order_type: OrderType = OrderType.GTC
    expiration: int = 0
    post_only: bool = False
    api_owner: str = ""


@dataclass(slots=True, eq=False)
class Order:
    """The engine's mutable record of an accepted order (compared by identity)."""

    order_id: str
    owner: str
    api_owner: str
    market: str
    token_id: str
    outcome: str
    side: Side
    price: int  # micro-dollars, in the order's own token
    price_decimal: Decimal
    original_size: int  # micro-shares as submitted
    open_size: int  # lot-aligned part that can match
    order_type: OrderType
    expiration: int
    post_only: bool
    created_ms: int
    seq: int
    is_primary: bool  # order is on tokens[0]
    book_bid: bool  # the side it takes in the primary token's book
    book_price: int  # its price in the primary token's book
    matched: int = 0
    reserved: int = 0  # pUSD (BUY) or shares (SELL) held for this order
    status: OrderStatus = OrderStatus.LIVE
    trade_ids: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.open_size - self.matched

    def view(self) -> OrderView:
        return OrderView(
            order_id=self.order_id,
            owner=self.owner,
            api_owner=self.api_owner,
            market=self.market,
            token_id=self.token_id,
            outcome=self.outcome,
            side=self.side,
            price=self.price_decimal,
            original_size=self.original_size,
            size_matched=self.matched,
            order_type=self.order_type,
            expiration=self.expiration,
            created_ms=self.created_ms,
            status=self.status,
            associate_trades=tuple(self.trade_ids),
        )


@dataclass(frozen=True, slots=True)
class OrderView:
    """Immutable snapshot of an order (what ``/data/order`` and user-channel ``order`` events need)."""

    order_id: str
    owner: str
    api_owner: str
    market: str
    token_id: str
    outcome: str
    side: Side
    price: Decimal
    original_size: int  # micro-shares
    size_matched: int  # micro-shares
    order_type: OrderType
    expiration: int
    created_ms: int
    status: OrderStatus
    associate_trades: tuple[str, ...]

    @property
    def original_size_decimal(self) -> Decimal:
        return micro_to_decimal(self.original_size)

    @property
    def size_matched_decimal(self) -> Decimal:
        return micro_to_decimal(self.size_matched)
