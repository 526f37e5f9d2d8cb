"""CLOB private reads: ``/data/order/{id}``, ``/data/orders``, ``/data/trades``, ``/balance-allowance``.

Lists page as ``{"data", "next_cursor", "limit", "count"}`` with the start cursor ``MA==`` and the end
marker ``LTE=`` (sending ``LTE=`` back is a 400). Only the caller's API key's orders and trades are
visible. Balances are 6-decimal integer strings; allowances are keyed by spender (the two V2
exchanges and the neg-risk adapter).
"""

from __future__ import annotations

from aiohttp import web

from polyhunter.adapters.polymarket.wire_clob_rest import BalanceAllowance, OrdersPage, TradesPage
from polyhunter.sim.server_clob_auth import authenticate
from polyhunter.sim.server_clob_market import END_CURSOR, STATE, decode_cursor, encode_cursor
from polyhunter.sim.server_http import BadRequest, json_response
from polyhunter.sim.server_wire import clob_trade, open_order
from polyhunter.sim.state import SimState

__all__ = ["PAGE_SIZE", "add_data_routes"]

PAGE_SIZE = 100
MAX_UINT256 = str(2**256 - 1)
SPENDERS = (
    "0xE111180000d2663C0091e4f400237545B87B996B",  # CTF Exchange V2
    "0xe2222d279d744050d28e00520010520000310F59",  # NegRisk CTF Exchange V2
    "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",  # NegRiskAdapter
)


def _page_bounds(request: web.Request, total: int) -> tuple[int, int, str]:
    offset = decode_cursor(request.query.get("next_cursor"))
    end = min(offset + PAGE_SIZE, total)
    return offset, end, END_CURSOR if end >= total else encode_cursor(end)


async def _order(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    state: SimState = request.app[STATE]
    view = state.engine.order(request.match_info["order_id"])
    if view is None or view.api_owner != key.api_key:
        raise BadRequest("order not found", 404)
    return json_response(open_order(view, state.checksum(view.owner)))


async def _orders(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    state: SimState = request.app[STATE]
    q = request.query
    views = [
        o
        for o in state.engine.open_orders(market=q.get("market") or None, asset_id=q.get("asset_id") or None)
        if o.api_owner == key.api_key and (not q.get("id") or o.order_id == q["id"])
    ]
    start, end, cursor = _page_bounds(request, len(views))
    data = [open_order(v, state.checksum(v.owner)) for v in views[start:end]]
    return json_response(OrdersPage(data=data, next_cursor=cursor, limit=PAGE_SIZE, count=len(data)))


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if not raw:
        return None
    if not raw.isdigit():
        raise BadRequest(f"invalid {name}")
    return int(raw)


async def _trades(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    state: SimState = request.app[STATE]
    q = request.query
    before, after = _int_param(request, "before"), _int_param(request, "after")
    maker = (q.get("maker_address") or "").lower()
    rows = []
    for ts in state.trades_for_key(key.api_key):
        t = ts.trade
        match_s = t.timestamp_ms // 1000
        if q.get("id") and t.trade_id != q["id"]:
            continue
        if (q.get("market") and t.market != q["market"]) or (
            q.get("asset_id") and t.token_id != q["asset_id"]
        ):
            continue
        if (before is not None and match_s >= before) or (after is not None and match_s <= after):
            continue
        if maker and maker != t.taker_owner.lower() and all(m.owner.lower() != maker for m in t.makers):
            continue
        info = state.info_by_condition(t.market)
        if info is not None:
            rows.append(clob_trade(ts, info, key.api_key))
    start, end, cursor = _page_bounds(request, len(rows))
    page = rows[start:end]
    return json_response(TradesPage(data=page, next_cursor=cursor, limit=PAGE_SIZE, count=len(page)))


def _balance(request: web.Request, state: SimState, funder: str) -> BalanceAllowance:
    asset_type = request.query.get("asset_type", "COLLATERAL").upper()
    acct = state.engine.account(funder)
    if asset_type == "COLLATERAL":
        allowance = MAX_UINT256 if acct.allowance is None else str(acct.allowance)
        return BalanceAllowance(balance=str(acct.cash), allowances=dict.fromkeys(SPENDERS, allowance))
    if asset_type == "CONDITIONAL":
        token = request.query.get("token_id")
        if not token or state.info_by_token(token) is None:
            raise BadRequest("Invalid token id")
        approved = MAX_UINT256 if acct.ctf_approved else "0"
        return BalanceAllowance(
            balance=str(acct.tokens.get(token, 0)), allowances=dict.fromkeys(SPENDERS, approved)
        )
    raise BadRequest("invalid asset_type")


async def _balance_allowance(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    state: SimState = request.app[STATE]
    return json_response(_balance(request, state, state.funder_of(key)))


async def _balance_allowance_update(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    state: SimState = request.app[STATE]
    funder = state.funder_of(key)
    _balance(request, state, funder)  # validates the query like live
    if state.chain_tokens is not None:  # chain mode: the venue's cache is refreshed from the chain
        await state.chain_tokens.sync(state.engine, funder)
    return json_response("")


def add_data_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/data/order/{order_id}", _order)
    r.add_get("/data/orders", _orders)
    r.add_get("/data/trades", _trades)
    r.add_get("/balance-allowance", _balance_allowance)
    r.add_get("/balance-allowance/update", _balance_allowance_update)
