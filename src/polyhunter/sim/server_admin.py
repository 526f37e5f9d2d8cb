"""Admin API of the simulator (its own base URL; never faulted).

* ``GET /health`` → ``{"status": "ok", ...counters}``
* ``POST /fund`` ``{"address", "collateral"}`` (pUSD, decimal) or ``{"address", "token_id", "shares"}``
  (minted as full sets: the wallet also receives the other outcome); in chain mode ``{"address",
  "usdce", "pol"}`` (either or both): USDC.e minted and POL for gas on the chain, for a wallet that is
  then set up as on Polygon (``polyhunter wallet setup``: wrap, approvals, ``/balance-allowance/update``)
* ``POST /allowance`` ``{"address", "allowance"}``: set the pUSD allowance of ``address`` to the exchanges
  (decimal pUSD; ``null`` is unlimited, as a funded wallet starts), e.g. 0 to model a wallet never approved
* ``GET /orders`` every signed order received (``?owner=<api key>`` / ``?maker=<address>`` filter)
* ``GET /scenario`` leaders, makers and markets of the running scenario
* ``GET /faults``; ``POST /faults`` set/clear (see ``faults.Faults.apply``)
* ``POST /version`` ``{"version": 3}``: switch the exchange version the CLOB serves on ``GET /version``
  (orders signed for the old one are then refused with ``order_version_mismatch``)
* ``POST /resolve`` ``{"condition_id", "winning_token"}`` or ``{"condition_id", "winning_outcome"}``;
  ``"auto_redeem": false`` leaves each holder to redeem for itself (CLOB ``POST /sim/redeem``, the
  simulator's stand-in for the conditional tokens' ``redeemPositions``), as on chain
* ``POST /fee-rate`` ``{"condition_id", "taker_fee_rate"}``: the market's taker fee rate (0 to 1)
* ``POST /tick-size`` ``{"condition_id", "tick_size"}``: change the market's tick (the market channel
  sends ``tick_size_change`` for each token; orders off the new tick are refused)
* ``POST /scenario/stop``: stop the scenario's own activity (leader fills, maker refreshes, replay);
  the venue keeps serving (a benchmark's leader flow ends, its backlog drains)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from polyhunter.adapters.chain.rpc import RpcError, RpcTransportError
from polyhunter.sim.chain_mirror import MirrorError
from polyhunter.sim.chain_tokens import ChainTokensError
from polyhunter.sim.errors import SimError
from polyhunter.sim.events import MarketResolved
from polyhunter.sim.faults import FaultConfigError
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_http import BadRequest, json_response
from polyhunter.sim.state import SimState
from polyhunter.sim.units import MICRO

__all__ = ["build_admin_app"]

ADMIN_STATE: web.AppKey[SimState] = web.AppKey("admin_state", SimState)
DESCRIBE: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("describe", object)  # type: ignore[arg-type]
STOP: web.AppKey[Callable[[], Awaitable[None]]] = web.AppKey("stop_scenario", object)  # type: ignore[arg-type]


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _amount(value: Any, name: str) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise BadRequest(f"{name} must be a decimal number") from None
    if not amount.is_finite() or amount < 0:
        raise BadRequest(f"{name} must be a non-negative number")
    return int(amount * MICRO)


def _address(body: dict[str, Any]) -> str:
    address = str(body.get("address", ""))
    if len(address) != 42 or not address.startswith("0x"):
        raise BadRequest("address must be a 0x address")
    return address


async def _market_request(request: web.Request) -> tuple[SimState, dict[str, Any], MarketInfo]:
    """The state, the request's JSON body and the market its ``condition_id`` names (404 if none)."""
    state = request.app[ADMIN_STATE]
    body = await _body(request)
    info = state.info_by_condition(str(body.get("condition_id", "")))
    if info is None:
        raise BadRequest("unknown condition_id", 404)
    return state, body, info


async def _set_market_decimal(
    request: web.Request, name: str, apply: Callable[[SimState, str, Decimal], None]
) -> web.Response:
    """A market's decimal setting ``name`` from the body, applied by ``apply(state, condition_id, value)``;
    a value that is not a number, or that ``apply`` refuses (SimError), is a 400 naming it."""
    state, body, info = await _market_request(request)
    try:
        value = Decimal(str(body.get(name)))
        apply(state, info.condition_id, value)
    except (InvalidOperation, SimError) as exc:
        raise BadRequest(f"{name}: {exc}") from None
    return json_response({"condition_id": info.condition_id, name: str(value)})


def _apply_faults(state: SimState, changes: Any) -> None:
    try:
        state.faults.apply(changes)
    except FaultConfigError as exc:
        raise BadRequest(str(exc)) from None


async def _health(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    return json_response(
        {
            "status": "ok",
            "markets": len(state.catalog),
            "trades": len(state.engine.trades()),
            "fills": len(state.fills),
            "orders_received": len(state.received),
            "websockets": len(state.registry),
        }
    )


async def _fund(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    body = await _body(request)
    address = _address(body)
    if "usdce" in body or "pol" in body:
        return json_response(await _fund_chain(state, address, body))
    if "collateral" in body:  # "approve": false funds a wallet that has not approved the exchanges
        approve = body.get("approve", True) is not False
        state.fund_collateral(address, _amount(body["collateral"], "collateral"), approve=approve)
    elif "token_id" in body and "shares" in body:
        token = str(body["token_id"])
        if state.info_by_token(token) is None:
            raise BadRequest("unknown token_id", 404)
        try:
            state.fund_shares(address, token, _amount(body["shares"], "shares"))
        except SimError as exc:
            raise BadRequest(str(exc)) from None
    else:
        raise BadRequest('expected {"address","collateral"} or {"address","token_id","shares"}')
    await _caught_up(state)
    acct = state.engine.account(address)
    return json_response({"address": address, "collateral": str(acct.cash), "tokens": dict(acct.tokens)})


async def _fund_chain(state: SimState, address: str, body: dict[str, Any]) -> dict[str, Any]:
    """Chain mode: mint USDC.e (``usdce``) and/or add POL for gas (``pol``) on the chain."""
    tokens = state.chain_tokens
    if tokens is None:
        raise BadRequest("usdce and pol need the chain mode (start the simulator with --chain-rpc URL)")
    out: dict[str, Any] = {"address": address}
    try:
        if "usdce" in body:
            out["usdce"] = str(await tokens.fund_usdce(address, _chain_amount(body["usdce"], "usdce")))
        if "pol" in body:
            wei = _chain_amount(body["pol"], "pol") * 10**12  # micro-POL -> wei
            out["pol_wei"] = str(await tokens.fund_gas(address, wei))
    except (RpcError, RpcTransportError, ChainTokensError) as exc:
        raise BadRequest(f"the chain refused: {exc}", 502) from None
    return out


async def _caught_up(state: SimState) -> None:
    """Chain mode: answer once the chain holds what the ledger does (deposits, resolutions)."""
    try:
        await state.chain_caught_up()
    except MirrorError as exc:
        raise BadRequest(f"the chain refused: {exc}", 502) from None


def _chain_amount(value: Any, name: str) -> int:
    amount = _amount(value, name)
    if amount > 10**30:
        raise BadRequest(f"{name} is too large")
    return amount


async def _allowance(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    body = await _body(request)
    address = _address(body)
    if "allowance" not in body:
        raise BadRequest('expected {"address","allowance"}')
    raw = body["allowance"]
    state.engine.ledger.approve(address, None if raw is None else _amount(raw, "allowance"))
    allowance = state.engine.account(address).allowance
    return json_response({"address": address, "allowance": None if allowance is None else str(allowance)})


async def _orders(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    owner = request.query.get("owner")
    maker = (request.query.get("maker") or "").lower()
    rows = [
        r.to_json()
        for r in state.received
        if (not owner or r.owner == owner) and (not maker or str(r.order.get("maker", "")).lower() == maker)
    ]
    return json_response(rows)


async def _scenario(request: web.Request) -> web.Response:
    return json_response(request.app[DESCRIBE]())


async def _stop_scenario(request: web.Request) -> web.Response:
    await request.app[STOP]()
    return json_response({"stopped": True})


async def _get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[ADMIN_STATE].faults.snapshot())


async def _set_faults(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    _apply_faults(state, await _body(request))
    return json_response(state.faults.snapshot())


async def _set_version(request: web.Request) -> web.Response:
    state = request.app[ADMIN_STATE]
    body = await _body(request)
    _apply_faults(state, {"order_version": body.get("version")})
    return json_response({"version": state.faults.order_version})


async def _resolve(request: web.Request) -> web.Response:
    state, body, info = await _market_request(request)
    market = state.engine.market(info.condition_id)
    winner = body.get("winning_token")
    if winner is None and "winning_outcome" in body:
        labels = dict(zip(market.outcomes, market.tokens, strict=True))
        winner = labels.get(str(body["winning_outcome"]))
    if winner not in market.tokens:
        raise BadRequest("winning_token (or winning_outcome) must name one of the market's outcomes")
    try:
        events = state.resolve(
            info.condition_id, str(winner), auto_redeem=body.get("auto_redeem", True) is not False
        )
    except SimError as exc:
        raise BadRequest(str(exc), 409) from None
    await _caught_up(state)
    payouts = [
        {"address": address, "collateral": str(amount)}
        for e in events
        if isinstance(e, MarketResolved)
        for address, amount in e.payouts
    ]
    return json_response({"condition_id": info.condition_id, "winning_token": winner, "payouts": payouts})


async def _tick_size(request: web.Request) -> web.Response:
    return await _set_market_decimal(
        request, "tick_size", lambda state, cid, tick: state.set_tick_size(cid, tick)
    )


def _set_fee_rate(state: SimState, condition_id: str, rate: Decimal) -> None:
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise SimError("must be within [0, 1]")
    state.engine.set_fee_rate(condition_id, rate)


async def _fee_rate(request: web.Request) -> web.Response:
    return await _set_market_decimal(request, "taker_fee_rate", _set_fee_rate)


_ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]], ...] = (
    ("GET", "/health", _health),
    ("POST", "/fund", _fund),
    ("POST", "/allowance", _allowance),
    ("GET", "/orders", _orders),
    ("GET", "/scenario", _scenario),
    ("GET", "/faults", _get_faults),
    ("POST", "/faults", _set_faults),
    ("POST", "/version", _set_version),
    ("POST", "/resolve", _resolve),
    ("POST", "/tick-size", _tick_size),
    ("POST", "/fee-rate", _fee_rate),
)


def build_admin_app(
    state: SimState,
    describe: Callable[[], dict[str, Any]],
    middlewares: list[Any],
    stop_scenario: Callable[[], Awaitable[None]] | None = None,
) -> web.Application:
    app = web.Application(middlewares=middlewares)
    app[ADMIN_STATE] = state
    app[DESCRIBE] = describe
    if stop_scenario is not None:
        app[STOP] = stop_scenario
        app.router.add_post("/scenario/stop", _stop_scenario)
    add = {"GET": app.router.add_get, "POST": app.router.add_post}  # add_get: HEAD too
    for method, path, handler in _ROUTES:
        add[method](path, handler)
    return app
