"""Gamma surface: ``GET /markets``, ``/markets/{id}``, ``/events``, ``/events/{id}`` (market metadata).

Filters: ``id``, ``slug``, ``condition_ids``, ``clob_token_ids`` (each repeatable or comma-separated),
``closed``, ``active``, ``limit``, ``offset``. Gamma quirks are kept: ``outcomes``, ``outcomePrices``
and ``clobTokenIds`` are JSON-encoded strings, market ``liquidity``/``volume`` are strings.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from polyhunter.adapters.polymarket.wire_gamma import GammaEvent, GammaMarket, GammaTag
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_http import error_response, json_response, parse_bool, parse_int
from polyhunter.sim.units import fmt_decimal

__all__ = ["GammaView", "build_gamma_app"]


class GammaView(Protocol):
    @property
    def catalog(self) -> Sequence[MarketInfo]: ...

    def current_price(self, token_id: str) -> Decimal: ...

    def is_resolved(self, condition_id: str) -> bool: ...


def _iso(info: MarketInfo) -> str:
    return info.end_date.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag(info: MarketInfo) -> GammaTag:
    return GammaTag(
        id=str(zlib.crc32(info.category.encode()) % 1000), label=info.category, slug=info.category.lower()
    )


def gamma_market(view: GammaView, info: MarketInfo, with_event: bool = True) -> GammaMarket:
    m = info.market
    closed = view.is_resolved(m.condition_id) or m.closed
    prices = [fmt_decimal(view.current_price(t)) for t in m.tokens]
    return GammaMarket(
        id=str(info.gamma_id),
        question=info.title,
        condition_id=m.condition_id,
        slug=info.slug,
        end_date=_iso(info),
        liquidity="0",
        start_date=(info.end_date.replace(hour=0, minute=0)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        description=f"Simulated market: {info.title}",
        outcomes=json.dumps(list(m.outcomes)),
        outcome_prices=json.dumps(prices),
        volume="0",
        active=m.active,
        closed=closed,
        archived=False,
        restricted=False,
        question_id="0x" + m.condition_id[2:][::-1],
        enable_order_book=True,
        order_price_min_tick_size=m.tick_size,
        order_min_size=m.min_order_size,
        end_date_iso=info.end_date.strftime("%Y-%m-%d"),
        clob_token_ids=json.dumps(list(m.tokens)),
        maker_base_fee=0 if with_event else None,  # markets nested in an event omit the base fees live
        taker_base_fee=int(m.taker_fee_rate * 10_000) if with_event else None,
        accepting_orders=m.accepting_orders and not closed,
        neg_risk=m.neg_risk,
        events=[_event(view, info, [], with_markets=False)] if with_event else None,
        fees_enabled=m.taker_fee_rate > 0,
    )


def _event(view: GammaView, info: MarketInfo, members: list[MarketInfo], *, with_markets: bool) -> GammaEvent:
    return GammaEvent(
        id=str(info.event_id),
        ticker=info.event_slug,
        slug=info.event_slug,
        title=info.event_title,
        description=f"Simulated event: {info.event_title}",
        end_date=_iso(info),
        active=True,
        closed=all(view.is_resolved(m.condition_id) for m in members) if members else False,
        archived=False,
        restricted=False,
        enable_order_book=True,
        neg_risk=info.market.neg_risk,
        markets=[gamma_market(view, m, with_event=False) for m in members] if with_markets else None,
        tags=[_tag(info)] if with_markets else None,  # events nested in a market carry no tags live
    )


def _multi(request: web.Request, name: str) -> set[str] | None:
    values = [v for raw in request.query.getall(name, []) for v in raw.split(",") if v]
    return set(values) if values else None


def _page(request: web.Request, items: list[Any]) -> list[Any]:
    limit = parse_int(request.query, "limit", 100, minimum=0) or 0
    offset = parse_int(request.query, "offset", 0, minimum=0) or 0
    return items[offset : offset + min(limit, 500)]


def _flag_filter(request: web.Request, name: str) -> bool | None:
    return parse_bool(request.query, name, False) if name in request.query else None


async def _markets(request: web.Request) -> web.Response:
    view: GammaView = request.app[VIEW]
    ids, slugs = _multi(request, "id"), _multi(request, "slug")
    cids, tids = _multi(request, "condition_ids"), _multi(request, "clob_token_ids")
    closed = _flag_filter(request, "closed")
    checks: list[Callable[[MarketInfo], bool]] = []
    if ids is not None:
        checks.append(lambda i: str(i.gamma_id) in ids)
    if slugs is not None:
        checks.append(lambda i: i.slug in slugs)
    if cids is not None:
        lowered = {c.lower() for c in cids}
        checks.append(lambda i: i.condition_id in lowered)
    if tids is not None:
        checks.append(lambda i: bool(tids & set(i.market.tokens)))
    if closed is not None:
        checks.append(lambda i: view.is_resolved(i.condition_id) == closed)
    found = [gamma_market(view, i) for i in view.catalog if all(check(i) for check in checks)]
    return json_response(_page(request, found))


async def _market(request: web.Request) -> web.Response:
    view: GammaView = request.app[VIEW]
    key = request.match_info["id"]
    for info in view.catalog:
        if key in (str(info.gamma_id), info.slug, info.condition_id):
            return json_response(gamma_market(view, info))
    return error_response("market not found", 404)


def _events_of(view: GammaView) -> dict[int, list[MarketInfo]]:
    events: dict[int, list[MarketInfo]] = {}
    for info in view.catalog:
        events.setdefault(info.event_id, []).append(info)
    return events


async def _events(request: web.Request) -> web.Response:
    view: GammaView = request.app[VIEW]
    ids, slugs = _multi(request, "id"), _multi(request, "slug")
    closed = _flag_filter(request, "closed")
    out = []
    for members in _events_of(view).values():
        head = members[0]
        if ids is not None and str(head.event_id) not in ids:
            continue
        if slugs is not None and head.event_slug not in slugs:
            continue
        event = _event(view, head, members, with_markets=True)
        if closed is not None and event.closed != closed:
            continue
        out.append(event)
    return json_response(_page(request, out))


async def _event_by_id(request: web.Request) -> web.Response:
    view: GammaView = request.app[VIEW]
    key = request.match_info["id"]
    for members in _events_of(view).values():
        head = members[0]
        if key in (str(head.event_id), head.event_slug):
            return json_response(_event(view, head, members, with_markets=True))
    return error_response("event not found", 404)


async def _event_by_slug(request: web.Request) -> web.Response:
    return await _event_by_id(request)


async def _market_by_slug(request: web.Request) -> web.Response:
    return await _market(request)


VIEW: web.AppKey[Any] = web.AppKey("gamma_view", object)


def build_gamma_app(view: GammaView, middlewares: list[Any]) -> web.Application:
    app = web.Application(middlewares=middlewares)
    app[VIEW] = view
    app.router.add_get("/markets", _markets)
    app.router.add_get("/markets/slug/{id}", _market_by_slug)
    app.router.add_get("/markets/{id}", _market)
    app.router.add_get("/events", _events)
    app.router.add_get("/events/slug/{id}", _event_by_slug)
    app.router.add_get("/events/{id}", _event_by_id)
    return app
