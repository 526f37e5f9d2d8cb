"""Data API v1 surface: ``GET /trades``, ``/activity``, ``/positions`` (protocol reference §1).

Parameters, defaults, limits and errors follow §1: ``/trades`` limit ≤ 10000 (clamped), offset ≤ 10000
(past it → 400), ``takerOnly`` default true, ``filterType``/``filterAmount`` only together, ``market``
and ``eventId`` mutually exclusive; ``/activity`` needs ``user``, limit clamped to 500, offset ≤ 5000;
``/positions`` needs ``user``, ``sizeThreshold`` default 1, limit clamped to 500, offset ≤ 10000.
Rows are bare arrays of camelCase objects with numbers as JSON numbers and lower-case ``proxyWallet``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from polyhunter.adapters.polymarket.wire_data_api import DataActivity, DataPosition, DataTrade
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_http import BadRequest, json_response, parse_bool, parse_decimal, parse_int
from polyhunter.sim.state_positions import Holding
from polyhunter.sim.state_records import FillRow, UserProfile

__all__ = ["DataView", "build_data_api_app", "number", "trade_row"]

VIEW: web.AppKey[Any] = web.AppKey("data_view", object)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CONDITION = re.compile(r"^0x[0-9a-fA-F]{64}$")
ACTIVITY_TYPES = frozenset(
    {"TRADE", "SPLIT", "MERGE", "REDEEM", "REWARD", "CONVERSION", "DEPOSIT", "WITHDRAWAL", "YIELD",
     "MAKER_REBATE", "TAKER_REBATE", "REFERRAL_REWARD"}
)  # fmt: skip
POSITION_SORTS = (
    "CURRENT",
    "INITIAL",
    "TOKENS",
    "CASHPNL",
    "PERCENTPNL",
    "TITLE",
    "RESOLVING",
    "PRICE",
    "AVGPRICE",
)


class DataView(Protocol):
    """What the Data API reads from the simulator state."""

    @property
    def fills(self) -> Sequence[FillRow]: ...

    def fills_of(self, wallet: str) -> Sequence[FillRow]: ...

    @property
    def catalog(self) -> Sequence[MarketInfo]: ...

    def info_by_condition(self, condition_id: str) -> MarketInfo | None: ...

    def info_by_token(self, token_id: str) -> MarketInfo | None: ...

    def profile(self, wallet: str) -> UserProfile: ...

    def current_price(self, token_id: str) -> Decimal: ...

    def holdings(self, wallet: str) -> list[Holding]: ...

    def is_resolved(self, condition_id: str) -> bool: ...

    def now_s(self) -> int: ...


def number(value: Decimal, places: int = 6) -> Decimal:
    """A Decimal as the Data API prints numbers: rounded, ints without a fraction, no exponent."""
    q = value.quantize(Decimal(1).scaleb(-places)).normalize()
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q


def _csv(query: Any, name: str, pattern: re.Pattern[str] | None = None) -> list[str] | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        if pattern is not None and not pattern.match(item):
            raise BadRequest(f"invalid {name}: {item!r}")
    return items


def _user(query: Any, required: bool) -> str | None:
    user = query.get("user")
    if not user:
        if required:
            raise BadRequest("required query param 'user' not provided")
        return None
    if not _ADDRESS.match(user):
        raise BadRequest(f"invalid user address: {user!r}")
    return str(user).lower()


def _required_user(query: Any) -> str:
    user = _user(query, True)
    assert user is not None  # _user raises when a required user is missing
    return user


def _side(query: Any) -> str | None:
    side = query.get("side")
    if side in (None, ""):
        return None
    if side not in ("BUY", "SELL"):
        raise BadRequest("side must be BUY or SELL")
    return str(side)


def _market_scope(view: DataView, query: Any) -> set[str] | None:
    markets = _csv(query, "market", _CONDITION)
    events = _csv(query, "eventId", re.compile(r"^\d+$"))
    if markets is not None and events is not None:
        raise BadRequest("must provide either eventId or market, not both")
    if markets is not None:
        return {m.lower() for m in markets}
    if events is not None:
        wanted = {int(e) for e in events}
        return {info.condition_id for info in view.catalog if info.event_id in wanted}
    return None


def _limit_offset(query: Any, *, default: int, max_limit: int, max_offset: int) -> tuple[int, int]:
    limit = parse_int(query, "limit", default, minimum=0) or 0
    offset = parse_int(query, "offset", 0, minimum=0) or 0
    if offset > max_offset:
        raise BadRequest(f"max historical activity offset of {max_offset} exceeded")
    return min(limit, max_limit), offset


def _meta(view: DataView, row: FillRow) -> dict[str, Any]:
    info = view.info_by_condition(row.condition_id)
    profile = view.profile(row.proxy_wallet)
    base: dict[str, Any] = {
        "name": profile.name,
        "pseudonym": profile.pseudonym,
        "bio": profile.bio,
        "profile_image": profile.profile_image,
        "profile_image_optimized": profile.profile_image,
    }
    if info is None:
        return {
            **base,
            "title": "",
            "slug": "",
            "icon": "",
            "event_slug": "",
            "outcome": "",
            "outcome_index": 999,
        }
    index = info.market.index_of(row.asset)
    return {
        **base,
        "title": info.title,
        "slug": info.slug,
        "icon": info.icon,
        "event_slug": info.event_slug,
        "outcome": info.market.outcomes[index],
        "outcome_index": index,
    }


def trade_row(view: DataView, row: FillRow, wallet: str | None = None) -> DataTrade:
    return DataTrade(
        proxy_wallet=wallet if wallet is not None else row.proxy_wallet,
        side=row.side,
        asset=row.asset,
        condition_id=row.condition_id,
        size=number(row.size),
        price=number(row.price, 10),
        timestamp=row.timestamp_s,
        transaction_hash=row.transaction_hash,
        **_meta(view, row),
    )


async def _trades(request: web.Request) -> web.Response:
    view: DataView = request.app[VIEW]
    q = request.query
    limit, offset = _limit_offset(q, default=100, max_limit=10_000, max_offset=10_000)
    taker_only = parse_bool(q, "takerOnly", True)
    filter_type = q.get("filterType")
    filter_amount = parse_decimal(q, "filterAmount")
    if (filter_type is None) != (filter_amount is None):
        raise BadRequest("filterType and filterAmount must be provided together")
    if filter_type is not None and filter_type not in ("CASH", "TOKENS"):
        raise BadRequest("filterType must be CASH or TOKENS")
    if filter_amount is not None and filter_amount < 0:
        raise BadRequest("filterAmount must be >= 0")
    user, side, scope = _user(q, False), _side(q), _market_scope(view, q)
    rows: list[FillRow] = []
    for row in reversed(view.fills_of(user) if user else view.fills):
        if (
            (taker_only and not row.is_taker)
            or (user and row.proxy_wallet != user)
            or (side and row.side != side)
        ):
            continue
        if scope is not None and row.condition_id not in scope:
            continue
        if filter_amount is not None:
            amount = row.usdc_size if filter_type == "CASH" else row.size
            if amount < filter_amount:
                continue
        rows.append(row)
    rows.sort(key=lambda r: (r.timestamp_s, r.seq), reverse=True)
    return json_response([trade_row(view, r) for r in rows[offset : offset + limit]])


def _activity_sort(sort_by: str) -> Callable[[FillRow], tuple[Any, ...]]:
    if sort_by == "TOKENS":
        return lambda r: (r.size, r.seq)
    if sort_by == "CASH":
        return lambda r: (r.usdc_size, r.seq)
    return lambda r: (r.timestamp_s, r.seq)


async def _activity(request: web.Request) -> web.Response:
    view: DataView = request.app[VIEW]
    q = request.query
    user = _required_user(q)
    limit, offset = _limit_offset(q, default=100, max_limit=500, max_offset=5000)
    types = set(_csv(q, "type") or ["TRADE"])
    if not types <= ACTIVITY_TYPES:
        raise BadRequest(f"invalid type: {sorted(types - ACTIVITY_TYPES)}")
    start = parse_int(q, "start", None, minimum=0)
    end = parse_int(q, "end", None, minimum=0)
    sort_by = q.get("sortBy", "TIMESTAMP")
    direction = q.get("sortDirection", "DESC")
    if sort_by not in ("TIMESTAMP", "TOKENS", "CASH") or direction not in ("ASC", "DESC"):
        raise BadRequest("invalid sortBy or sortDirection")
    side, scope = _side(q), _market_scope(view, q)
    rows = [
        r
        for r in view.fills_of(user)
        if r.proxy_wallet == user
        and "TRADE" in types
        and (side is None or r.side == side)
        and (scope is None or r.condition_id in scope)
        and (not start or r.timestamp_s >= start)
        and (end is None or r.timestamp_s <= end)
    ]
    rows.sort(key=_activity_sort(sort_by), reverse=direction == "DESC")
    out = []
    for r in rows[offset : offset + limit]:
        meta = _meta(view, r)
        out.append(
            DataActivity(
                proxy_wallet=r.proxy_wallet,
                timestamp=r.timestamp_s,
                condition_id=r.condition_id,
                type="TRADE",
                size=number(r.size),
                usdc_size=number(r.usdc_size),
                transaction_hash=r.transaction_hash,
                price=number(r.price, 10),
                asset=r.asset,
                side=r.side,
                **meta,
            )
        )
    return json_response(out)


def _position(view: DataView, h: Holding, held: set[str]) -> DataPosition | None:
    """One row; ``held`` = the wallet's tokens with a positive size (both outcomes held = mergeable)."""
    info = view.info_by_condition(h.condition_id)
    if info is None:
        return None
    market = info.market
    index = market.index_of(h.asset)
    cur = view.current_price(h.asset)
    initial = h.size * h.avg_price
    current = h.size * cur
    cash_pnl = current - initial
    percent = cash_pnl / initial * 100 if initial else Decimal(0)
    realized_pct = h.realized_pnl / h.bought_cost * 100 if h.bought_cost else Decimal(0)
    other = 1 - index
    return DataPosition(
        proxy_wallet=h.wallet,
        asset=h.asset,
        condition_id=h.condition_id,
        size=number(h.size),
        avg_price=number(h.avg_price),
        initial_value=number(initial),
        current_value=number(current),
        cash_pnl=number(cash_pnl),
        percent_pnl=number(percent),
        total_bought=number(h.total_bought),
        realized_pnl=number(h.realized_pnl),
        percent_realized_pnl=number(realized_pct),
        cur_price=number(cur),
        redeemable=view.is_resolved(h.condition_id),
        mergeable=not view.is_resolved(h.condition_id) and market.tokens[other] in held,
        title=info.title,
        slug=info.slug,
        icon=info.icon,
        event_slug=info.event_slug,
        outcome=market.outcomes[index],
        outcome_index=index,
        opposite_outcome=market.outcomes[other],
        opposite_asset=market.tokens[other],
        end_date=info.end_date.strftime("%Y-%m-%d"),
        negative_risk=market.neg_risk,
    )


_POSITION_KEYS: dict[str, Callable[[DataPosition], Any]] = {
    "CURRENT": lambda p: p.current_value,
    "INITIAL": lambda p: p.initial_value,
    "TOKENS": lambda p: p.size,
    "CASHPNL": lambda p: p.cash_pnl,
    "PERCENTPNL": lambda p: p.percent_pnl,
    "TITLE": lambda p: p.title or "",
    "RESOLVING": lambda p: p.end_date or "",
    "PRICE": lambda p: p.cur_price,
    "AVGPRICE": lambda p: p.avg_price,
}


async def _positions(request: web.Request) -> web.Response:
    view: DataView = request.app[VIEW]
    q = request.query
    user = _required_user(q)
    limit, offset = _limit_offset(q, default=100, max_limit=500, max_offset=10_000)
    threshold = parse_decimal(q, "sizeThreshold")
    threshold = Decimal(1) if threshold is None else threshold
    redeemable = parse_bool(q, "redeemable", False)
    mergeable = parse_bool(q, "mergeable", False)
    sort_by = q.get("sortBy", "TOKENS")
    direction = q.get("sortDirection", "DESC")
    title = q.get("title")
    if sort_by not in _POSITION_KEYS or direction not in ("ASC", "DESC"):
        raise BadRequest("invalid sortBy or sortDirection")
    if title is not None and len(title) > 100:
        raise BadRequest("title must be at most 100 characters")
    scope = _market_scope(view, q)
    positions = []
    holdings = view.holdings(user)
    held = {h.asset for h in holdings if h.size > 0}
    for h in holdings:
        if h.size <= 0 or h.size < threshold or (scope is not None and h.condition_id not in scope):
            continue
        p = _position(view, h, held)
        if p is None or (redeemable and not p.redeemable) or (mergeable and not p.mergeable):
            continue
        if title and title.lower() not in (p.title or "").lower():
            continue
        positions.append(p)
    positions.sort(key=_POSITION_KEYS[sort_by], reverse=direction == "DESC")
    return json_response(positions[offset : offset + limit])


def build_data_api_app(view: DataView, middlewares: list[Any]) -> web.Application:
    app = web.Application(middlewares=middlewares)
    app[VIEW] = view
    app.router.add_get("/trades", _trades)
    app.router.add_get("/activity", _activity)
    app.router.add_get("/positions", _positions)
    return app
