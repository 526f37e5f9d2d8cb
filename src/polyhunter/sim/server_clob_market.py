"""CLOB public market data (protocol reference §3.1) as the live venue serves it.

``/book`` (worst-first levels, ms-string timestamp, 40-hex hash), ``POST /books``, ``/midpoint``
(``{"mid"}``), ``/price`` and ``/spread`` (strings), ``/last-trade-price``, ``/tick-size`` (number),
``/neg-risk``, ``/fee-rate``, ``/time``, ``/version``, ``/markets`` (paged, end cursor ``LTE=``),
``/markets/{cid}``, ``/clob-markets/{cid}``, ``/markets-by-token/{tid}``, the POST plural forms, and the
plural GET forms answering 400 ``Invalid payload`` like live.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from polyhunter.adapters.polymarket.wire_clob_rest import (
    ClobMarket,
    ClobMarketInfo,
    ClobToken,
    CompactFeeDetails,
    CompactToken,
    LastTradePrice,
    MarketByToken,
    MarketsPage,
    Midpoint,
    Price,
    Rewards,
    Spread,
)
from polyhunter.sim.events import BookSnapshot
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_http import BadRequest, error_response, json_response
from polyhunter.sim.server_wire import clob_book
from polyhunter.sim.state import SimState
from polyhunter.sim.units import fmt_decimal

__all__ = ["END_CURSOR", "START_CURSOR", "STATE", "add_market_routes", "decode_cursor", "encode_cursor"]

STATE: web.AppKey[SimState] = web.AppKey("sim_state", SimState)
START_CURSOR = "MA=="
END_CURSOR = "LTE="
MARKETS_PAGE = 1000
NO_BOOK = "No orderbook exists for the requested token id"
NO_REWARDS = Rewards(rates=None, min_size=Decimal(0), max_spread=Decimal(0))


def encode_cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """Offset of a ``next_cursor``; ``LTE=`` (the end marker) or garbage is a 400 like live."""
    if cursor in (None, "", START_CURSOR):
        return 0
    assert cursor is not None
    if cursor == END_CURSOR:
        raise BadRequest("invalid next_cursor")
    try:
        value = int(base64.b64decode(cursor, validate=True).decode())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid next_cursor") from None
    if value < 0:
        raise BadRequest("invalid next_cursor")
    return value


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


def _book_of(state: SimState, token_id: str | None) -> BookSnapshot:
    if not token_id or not token_id.isdigit():
        raise BadRequest("Invalid token id")
    snap = state.book_snapshot(token_id)
    if snap is None:
        raise BadRequest(NO_BOOK, 404)
    return snap


async def _book(request: web.Request) -> web.Response:
    return json_response(clob_book(_book_of(_state(request), request.query.get("token_id"))))


async def _body_items(request: web.Request, limit: int = 500) -> list[dict[str, Any]]:
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise BadRequest("Invalid payload") from None
    if not isinstance(body, list) or len(body) > limit or not all(isinstance(i, dict) for i in body):
        raise BadRequest("Invalid payload")
    return body


async def _books(request: web.Request) -> web.Response:
    state = _state(request)
    items = await _body_items(request)
    books = [clob_book(snap) for i in items if (snap := state.book_snapshot(str(i.get("token_id", ""))))]
    return json_response(books)


def _mid(snap: BookSnapshot) -> Decimal | None:
    return snap.midpoint


async def _midpoint(request: web.Request) -> web.Response:
    snap = _book_of(_state(request), request.query.get("token_id"))
    mid = _mid(snap)
    if mid is None:
        raise BadRequest(NO_BOOK, 404)
    return json_response(Midpoint(mid=fmt_decimal(mid)))


async def _midpoints(request: web.Request) -> web.Response:
    state = _state(request)
    out: dict[str, str] = {}
    for item in await _body_items(request):
        snap = state.book_snapshot(str(item.get("token_id", "")))
        if snap is not None and (mid := _mid(snap)) is not None:
            out[snap.asset_id] = fmt_decimal(mid)
    return json_response(out)


def _side_price(snap: BookSnapshot, side: str) -> Decimal | None:
    if side == "BUY":
        return snap.best_bid
    if side == "SELL":
        return snap.best_ask
    raise BadRequest("Invalid side")


async def _price(request: web.Request) -> web.Response:
    snap = _book_of(_state(request), request.query.get("token_id"))
    price = _side_price(snap, request.query.get("side", ""))
    if price is None:
        raise BadRequest(NO_BOOK, 404)
    return json_response(Price(price=fmt_decimal(price)))


async def _prices(request: web.Request) -> web.Response:
    state = _state(request)
    out: dict[str, dict[str, str]] = {}
    for item in await _body_items(request):
        snap = state.book_snapshot(str(item.get("token_id", "")))
        if snap is None:
            continue
        side = str(item.get("side") or "SELL")
        price = _side_price(snap, side)
        if price is not None:
            out.setdefault(snap.asset_id, {})[side] = fmt_decimal(price)
    return json_response(out)


async def _spread(request: web.Request) -> web.Response:
    snap = _book_of(_state(request), request.query.get("token_id"))
    spread = snap.spread
    if spread is None:
        raise BadRequest(NO_BOOK, 404)
    return json_response(Spread(spread=fmt_decimal(spread)))


async def _spreads(request: web.Request) -> web.Response:
    state = _state(request)
    out: dict[str, str] = {}
    for item in await _body_items(request):
        snap = state.book_snapshot(str(item.get("token_id", "")))
        if snap is not None and snap.spread is not None:
            out[snap.asset_id] = fmt_decimal(snap.spread)
    return json_response(out)


def _last_trade(state: SimState, token_id: str) -> LastTradePrice:
    last = state.engine.last_trade(token_id)
    if last is None:
        return LastTradePrice(price="0.5", side="")
    return LastTradePrice(price=fmt_decimal(last[0]), side=last[1].value)


async def _last_trade_price(request: web.Request) -> web.Response:
    state = _state(request)
    snap = _book_of(state, request.query.get("token_id"))
    return json_response(_last_trade(state, snap.asset_id))


async def _last_trades_prices(request: web.Request) -> web.Response:
    state = _state(request)
    out = []
    for item in await _body_items(request):
        token = str(item.get("token_id", ""))
        if state.info_by_token(token) is not None:
            ltp = _last_trade(state, token)
            out.append({"token_id": token, "price": ltp.price, "side": ltp.side})
    return json_response(out)


def _market_of_query(request: web.Request) -> MarketInfo:
    state = _state(request)
    token = request.query.get("token_id")
    if not token:
        raise BadRequest("Invalid token id")
    info = state.info_by_token(token)
    if info is None:
        raise BadRequest(NO_BOOK, 404)
    return state.market_info(info)


async def _tick_size(request: web.Request) -> web.Response:
    return json_response({"minimum_tick_size": _market_of_query(request).market.tick_size})


async def _neg_risk(request: web.Request) -> web.Response:
    return json_response({"neg_risk": _market_of_query(request).market.neg_risk})


async def _fee_rate(request: web.Request) -> web.Response:
    info = _market_of_query(request)
    return json_response({"base_fee": int(info.market.taker_fee_rate * 10_000)})


async def _time(request: web.Request) -> web.Response:
    return json_response(_state(request).now_s())


async def _version(request: web.Request) -> web.Response:
    return json_response({"version": _state(request).faults.order_version})


async def _ok(request: web.Request) -> web.Response:
    return json_response("OK")


async def _plural_get(request: web.Request) -> web.Response:
    return error_response("Invalid payload", 400)


def _opened(state: SimState) -> str:
    """When the simulator's markets began accepting orders (``accepting_order_timestamp``)."""
    return datetime.fromtimestamp(state.started_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clob_market(state: SimState, info: MarketInfo) -> ClobMarket:
    m = info.market
    prices = [state.current_price(t) for t in m.tokens]
    return ClobMarket(
        enable_order_book=not m.closed,  # live closed markets have no order book
        active=m.active,
        closed=m.closed,
        archived=False,
        accepting_orders=m.accepting_orders,
        accepting_order_timestamp=_opened(state),
        minimum_order_size=m.min_order_size,
        minimum_tick_size=m.tick_size,
        condition_id=m.condition_id,
        question_id="0x" + m.condition_id[2:][::-1],
        question=m.question,
        description=f"Simulated market: {m.question}",
        market_slug=m.slug,
        end_date_iso=info.end_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        game_start_time=None,
        seconds_delay=math.ceil(m.match_delay_ms / 1000),
        fpmm="",
        maker_base_fee=0,
        taker_base_fee=int(m.taker_fee_rate * 10_000),
        notifications_enabled=False,
        neg_risk=m.neg_risk,
        neg_risk_market_id="0x" + m.condition_id[2:][::-1] if m.neg_risk else "",
        neg_risk_request_id="",
        icon=info.icon,
        image=info.icon,
        rewards=NO_REWARDS,  # live always serves the object; rates null when no program runs
        is_50_50_outcome=False,
        tokens=[
            ClobToken(token_id=t, outcome=o, price=p, winner=m.winning_token == t)
            for t, o, p in zip(m.tokens, m.outcomes, prices, strict=True)
        ],
        tags=[info.category],
    )


async def _markets(request: web.Request) -> web.Response:
    state = _state(request)
    offset = decode_cursor(request.query.get("next_cursor"))
    infos = state.catalog
    page = infos[offset : offset + MARKETS_PAGE]
    nxt = offset + len(page)
    cursor = END_CURSOR if nxt >= len(infos) else encode_cursor(nxt)
    data = [clob_market(state, i) for i in page]
    return json_response(MarketsPage(data=data, next_cursor=cursor, limit=MARKETS_PAGE, count=len(data)))


def _simplified(state: SimState, info: MarketInfo) -> dict[str, Any]:
    full = clob_market(state, info)
    return {
        "condition_id": full.condition_id,
        "rewards": full.rewards,
        "tokens": full.tokens,
        "active": full.active,
        "closed": full.closed,
        "archived": full.archived,
        "accepting_orders": full.accepting_orders,
    }


def _markets_page(simplified: bool, sampling: bool) -> Any:
    """``/simplified-markets``, ``/sampling-markets`` and ``/sampling-simplified-markets``: the same
    cursor paging as ``/markets``; sampling = markets still accepting orders."""

    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        offset = decode_cursor(request.query.get("next_cursor"))
        infos = [i for i in state.catalog if not sampling or i.market.accepting_orders]
        page = infos[offset : offset + MARKETS_PAGE]
        nxt = offset + len(page)
        data = [_simplified(state, i) if simplified else clob_market(state, i) for i in page]
        cursor = END_CURSOR if nxt >= len(infos) else encode_cursor(nxt)
        return json_response({"data": data, "next_cursor": cursor, "limit": MARKETS_PAGE, "count": len(data)})

    return handler


def _info_by_cid(request: web.Request) -> MarketInfo:
    state = _state(request)
    info = state.info_by_condition(request.match_info["condition_id"])
    if info is None:
        raise BadRequest("market not found", 404)
    return state.market_info(info)


async def _market(request: web.Request) -> web.Response:
    return json_response(clob_market(_state(request), _info_by_cid(request)))


async def _clob_market(request: web.Request) -> web.Response:
    """The V2 compact market (§3.1): ``nr`` only on neg-risk markets and ``fd`` only where a fee is
    charged (absent keys, like live); ``gst`` (game start) is left out as no simulated market is a game."""
    info = _info_by_cid(request)
    m = info.market
    fee = CompactFeeDetails(r=m.taker_fee_rate, e=Decimal(1), to=True) if m.taker_fee_rate else None
    return json_response(
        ClobMarketInfo(
            c=m.condition_id,
            t=[CompactToken(t=t, o=o) for t, o in zip(m.tokens, m.outcomes, strict=True)],
            mts=m.tick_size,
            nr=True if m.neg_risk else None,
            fd=fee,
            mbf=0,
            tbf=int(m.taker_fee_rate * 10_000),
            r=NO_REWARDS,
            ao=m.accepting_orders,
            mos=m.min_order_size,
            sd=math.ceil(_state(request).engine.market(m.condition_id).match_delay_ms / 1000),
            cbos=False,
            aot=_opened(_state(request)),
            v="v1",
        )
    )


async def _market_by_token(request: web.Request) -> web.Response:
    info = _state(request).info_by_token(request.match_info["token_id"])
    if info is None:
        raise BadRequest("market not found", 404)
    t0, t1 = info.market.tokens
    return json_response(
        MarketByToken(condition_id=info.condition_id, primary_token_id=t0, secondary_token_id=t1)
    )


def add_market_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", _ok)
    r.add_get("/ok", _ok)
    r.add_get("/book", _book)
    r.add_post("/books", _books)
    r.add_get("/midpoint", _midpoint)
    r.add_post("/midpoints", _midpoints)
    r.add_get("/price", _price)
    r.add_post("/prices", _prices)
    r.add_get("/spread", _spread)
    r.add_post("/spreads", _spreads)
    r.add_get("/last-trade-price", _last_trade_price)
    r.add_post("/last-trades-prices", _last_trades_prices)
    for path in ("/books", "/midpoints", "/prices", "/spreads", "/last-trades-prices"):
        r.add_get(path, _plural_get)
    r.add_get("/tick-size", _tick_size)
    r.add_get("/neg-risk", _neg_risk)
    r.add_get("/fee-rate", _fee_rate)
    r.add_get("/time", _time)
    r.add_get("/version", _version)
    r.add_get("/markets", _markets)
    r.add_get("/simplified-markets", _markets_page(simplified=True, sampling=False))
    r.add_get("/sampling-markets", _markets_page(simplified=False, sampling=True))
    r.add_get("/sampling-simplified-markets", _markets_page(simplified=True, sampling=True))
    r.add_get("/markets/{condition_id}", _market)
    r.add_get("/clob-markets/{condition_id}", _clob_market)
    r.add_get("/markets-by-token/{token_id}", _market_by_token)
