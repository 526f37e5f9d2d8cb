"""CLOB public market data over REST: the engine's `MarketData` on the venue (or the simulator)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy, VenueError
from polyhunter.adapters.polymarket.wire_base import PriceLevel, decode
from polyhunter.adapters.polymarket.wire_clob_rest import (
    ClobBook,
    ClobMarket,
    FeeRate,
    LastTradePrice,
    Midpoint,
    NegRisk,
    PricesHistory,
    ServerVersion,
    TickSize,
    decode_book,
)
from polyhunter.adapters.polymarket.wire_validation import (
    BAD_NUMBER,
    PRICE_OUT_OF_RANGE,
    SIZE_OUT_OF_RANGE,
    InvalidMessage,
    check_price,
    parse_decimal,
    parse_int,
)
from polyhunter.domain.book_math import BookSide, Level
from polyhunter.domain.fill_model import PricePoint
from polyhunter.domain.lifecycle import MarketState
from polyhunter.domain.orders import OrderBook

MAX_UNIX_S = 10**11  # a "t" past this is milliseconds or garbage, not a unix second


def _level(wire: PriceLevel) -> Level:
    size = parse_decimal(wire.size, "size")
    if size < 0:
        raise InvalidMessage(SIZE_OUT_OF_RANGE, wire.size[:40])
    return Level(check_price(parse_decimal(wire.price, "price")), size)


def book_from_wire(wire: ClobBook) -> OrderBook:
    """The venue lists levels worst-first (bids ascending, asks descending): reverse to best-first.

    Raises :class:`InvalidMessage` for a level or field that is not a number the venue can send.
    """
    bids = BookSide(tuple(_level(lv) for lv in reversed(wire.bids)))
    asks = BookSide(tuple(_level(lv) for lv in reversed(wire.asks)))
    return OrderBook(
        token_id=wire.asset_id,
        bids=bids,
        asks=asks,
        tick_size=check_price(parse_decimal(wire.tick_size or "0.01", "tick_size")),
        min_order_size=parse_decimal(wire.min_order_size or "5", "min_order_size"),
        neg_risk=bool(wire.neg_risk),
        timestamp_ms=parse_int(wire.timestamp, "timestamp"),
        last_trade_price=(
            parse_decimal(wire.last_trade_price, "last_trade_price") if wire.last_trade_price else None
        ),
    )


class ClobMarketData:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    @classmethod
    def connect(
        cls, base_url: str, timeout_ms: int = 5_000, policy: RetryPolicy | None = None
    ) -> ClobMarketData:
        return cls(HttpClient(base_url, timeout_ms, policy))

    async def close(self) -> None:
        await self.http.close()

    async def book(self, token_id: str) -> OrderBook:
        return book_from_wire(
            decode_book(await self.http.request("GET", "/book", params={"token_id": token_id}))
        )

    async def midpoint(self, token_id: str) -> Decimal | None:
        try:
            data = await self.http.request("GET", "/midpoint", params={"token_id": token_id})
        except VenueError as exc:
            if exc.status == 404:
                return None
            raise
        mid = decode(data, Midpoint).mid
        return parse_decimal(mid, "mid") if mid else None

    async def last_trade_price(self, token_id: str) -> Decimal | None:
        data = await self.http.request("GET", "/last-trade-price", params={"token_id": token_id})
        wire = decode(data, LastTradePrice)
        if wire.side == "":  # never traded: the venue answers 0.5 with no side
            return None
        return parse_decimal(wire.price, "price")

    async def tick_size(self, token_id: str) -> Decimal:
        data = await self.http.request("GET", "/tick-size", params={"token_id": token_id})
        return decode(data, TickSize).minimum_tick_size

    async def fee_rate(self, token_id: str) -> Decimal:
        """The market's taker fee rate (``GET /fee-rate``: ``base_fee`` in bps; 0 where no fee)."""
        bps = decode(await self.http.request("GET", "/fee-rate", params={"token_id": token_id}), FeeRate).bps
        if not 0 <= bps <= 10_000:
            raise InvalidMessage(f"fee rate out of range: {bps} bps")
        return Decimal(bps) / 10_000

    async def market_state(self, condition_id: str) -> MarketState | None:
        """``GET /markets/{condition_id}``: closed, accepting orders, the winning token once resolved."""
        try:
            data = await self.http.request("GET", f"/markets/{condition_id}")
        except VenueError as exc:
            if exc.status in (400, 404):
                return None
            raise
        wire = decode(data, ClobMarket)
        winners = [t.token_id for t in wire.tokens if t.winner]
        return MarketState(
            condition_id=wire.condition_id.lower(),
            tokens=tuple(t.token_id for t in wire.tokens),
            closed=wire.closed,
            accepting_orders=wire.accepting_orders,
            winning_token=winners[0] if wire.closed and len(winners) == 1 else None,
            tick_size=wire.minimum_tick_size,
        )

    async def prices_history(
        self,
        token_id: str,
        *,
        start_ts: int | None = None,
        end_ts: int | None = None,
        interval: str | None = None,
        fidelity: int | None = None,
    ) -> list[PricePoint]:
        """``GET /prices-history`` of one token: either a window (``start_ts``/``end_ts``, unix seconds) or
        an ``interval`` ending now (``1h``, ``6h``, ``1d``, ``1w``, ``1m``, ``max``), ``fidelity`` minutes
        apart. Points in time order; raises :class:`InvalidMessage` for a price outside [0, 1] or a time
        that is not a plausible unix second."""
        if interval is not None and (start_ts is not None or end_ts is not None):
            raise ValueError("interval and start_ts/end_ts are mutually exclusive")
        params: dict[str, str] = {"market": token_id}
        for key, value in (("startTs", start_ts), ("endTs", end_ts), ("fidelity", fidelity)):
            if value is not None:
                params[key] = str(value)
        if interval is not None:
            params["interval"] = interval
        wire = decode(await self.http.request("GET", "/prices-history", params=params), PricesHistory)
        points = []
        for item in wire.history:
            if not item.p.is_finite() or not 0 <= item.p <= 1:
                raise InvalidMessage(PRICE_OUT_OF_RANGE, f"prices-history p: {str(item.p)[:40]}")
            if not 0 < item.t < MAX_UNIX_S:
                raise InvalidMessage(BAD_NUMBER, f"prices-history t: {item.t}")
            points.append(PricePoint(item.t, item.p))
        points.sort(key=lambda pt: pt.t)
        return points

    async def neg_risk(self, token_id: str) -> bool:
        return decode(
            await self.http.request("GET", "/neg-risk", params={"token_id": token_id}), NegRisk
        ).neg_risk

    async def version(self) -> int:
        try:
            return decode(await self.http.request("GET", "/version"), ServerVersion).version
        except VenueError:
            return 2  # the SDKs' default when the server does not say
