"""CLOB order entry: ``POST /order``, ``POST /orders`` (≤ 15), and the cancel endpoints (§3.4).

Each signed V2 order is checked like the live venue does, in this order: payload shape → owner is
the API key → signer is the key's address → EIP-712 signature against the market's exchange domain
(neg-risk markets sign for the neg-risk exchange; anything else is ``invalid signature``, except
an order signed for the other exchange version than ``GET /version`` serves: ``order_version_mismatch``) → amount
precision for marketable types → the engine's own rules (tick, minimum size, balance, FOK/FAK). The
order id is the EIP-712 order hash, so a re-sent order is ``Duplicated``. Every received order is
logged for the admin ``GET /orders``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from aiohttp import web

from polyhunter.adapters.polymarket.eip712 import InvalidSignatureError
from polyhunter.adapters.polymarket.funder_wallets import funder_of
from polyhunter.adapters.polymarket.order_signer import (
    ExchangeDomain,
    Order,
    SignatureType,
    exchange_domain,
    order_hash,
    recover_order_signer,
)
from polyhunter.adapters.polymarket.wire_clob_rest import (
    CancelResponse,
    ClobError,
    PostOrderResponse,
    PostOrderV2,
)
from polyhunter.domain.signal import Side
from polyhunter.sim import errors
from polyhunter.sim.amounts import order_terms_from_amounts
from polyhunter.sim.errors import SimError
from polyhunter.sim.events import CancelResult, SubmitResult
from polyhunter.sim.faults import ORDER_VERSIONS
from polyhunter.sim.orders import OrderRequest, OrderType
from polyhunter.sim.server_clob_auth import CHAIN_ID, authenticate
from polyhunter.sim.server_clob_market import STATE
from polyhunter.sim.server_http import BadRequest, json_response
from polyhunter.sim.state import SimState
from polyhunter.sim.state_records import ApiKey, ReceivedOrder
from polyhunter.sim.units import fmt_decimal, micro_to_decimal

__all__ = ["MAX_BATCH", "add_order_routes"]

MAX_BATCH = 15
INVALID_SIGNATURE = "invalid signature"
OWNER_MISMATCH = "the order owner has to be the owner of the API KEY"
SIGNER_MISMATCH = "the order signer address has to be the address of the API KEY"
MAKER_PRECISION = "invalid amounts, maker amount supports a max accuracy of 2 decimals"
ORDER_VERSION_MISMATCH = "order_version_mismatch"  # the official clients refetch /version on this text


class OrderRejected(Exception):
    def __init__(self, message: str, order_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.order_id = order_id


def _record(state: SimState, raw: Any, endpoint: str) -> ReceivedOrder:
    item = raw if isinstance(raw, dict) else {}
    sent = item.get("order")
    order: dict[str, Any] = dict(sent) if isinstance(sent, dict) else {}
    state.received_seq += 1
    rec = ReceivedOrder(
        seq=state.received_seq - 1,
        received_at_ms=state.now_ms(),
        endpoint=endpoint,
        owner=str(item.get("owner", "")),
        order_type=str(item.get("orderType", "")),
        post_only=bool(item.get("postOnly", False)),
        order=order,
    )
    state.received.append(rec)
    return rec


def _signed_by(order: Order, signature: str, domain: ExchangeDomain, expected: str) -> bool:
    try:
        return recover_order_signer(order, signature, domain).lower() == expected.lower()
    except (InvalidSignatureError, ValueError):
        return False


def _to_request(request: web.Request, key: ApiKey, raw: Any) -> OrderRequest:
    """Validate one signed order body and turn it into an engine request (or raise OrderRejected)."""
    state: SimState = request.app[STATE]
    try:
        body = msgspec.convert(raw, PostOrderV2)
        o = body.order
        side = Side.BUY if o.side == "BUY" else Side.SELL
        order = Order(
            salt=o.salt,
            maker=o.maker,
            signer=o.signer,
            token_id=int(o.token_id),
            maker_amount=int(o.maker_amount),
            taker_amount=int(o.taker_amount),
            side=side,
            signature_type=SignatureType(o.signature_type),
            timestamp_ms=int(o.timestamp),
            metadata=o.metadata,
            builder=o.builder,
            expiration=int(o.expiration),
        )
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        raise OrderRejected(errors.INVALID_PAYLOAD) from None
    if body.owner != key.api_key:
        raise OrderRejected(OWNER_MISMATCH)
    if order.signature_type != SignatureType.POLY_1271 and order.signer.lower() != key.address.lower():
        raise OrderRejected(SIGNER_MISMATCH)
    info = state.info_by_token(o.token_id)
    if info is None or order.maker_amount <= 0 or order.taker_amount <= 0:
        raise OrderRejected(errors.INVALID_PAYLOAD)
    market = state.engine.market(info.condition_id)
    version = state.faults.order_version
    domain = exchange_domain(request.app[CHAIN_ID], version, market.neg_risk)
    order_id = order_hash(order, domain)
    expected = key.address if order.signature_type == SignatureType.POLY_1271 else order.signer
    if _by_contract(state, order, o.signature):
        pass  # DIRECT: the maker contract's isValidSignature decides (_chain_check)
    elif not _signed_by(order, o.signature, domain, expected):
        for other in ORDER_VERSIONS:  # signed for another exchange version: the client must re-sign
            other_domain = exchange_domain(request.app[CHAIN_ID], other, market.neg_risk)
            if other != version and _signed_by(order, o.signature, other_domain, expected):
                raise OrderRejected(ORDER_VERSION_MISMATCH, order_hash(order, other_domain))
        raise OrderRejected(INVALID_SIGNATURE, order_id)
    if state.faults.take_version_mismatch():
        raise OrderRejected(ORDER_VERSION_MISMATCH, order_id)
    _check_maker(order, order_id)
    order_type = OrderType(body.order_type)
    if not order_type.can_rest and order.maker_amount % 10_000:
        raise OrderRejected(MAKER_PRECISION, order_id)
    price, size = order_terms_from_amounts(side, order.maker_amount, order.taker_amount, market.tick_size)
    return OrderRequest(
        order_id=order_id,
        owner=order.maker,
        token_id=o.token_id,
        side=side,
        price=price,
        size=size,
        order_type=order_type,
        expiration=order.expiration,
        post_only=body.post_only,
        api_owner=key.api_key,
    )


def _check_maker(order: Order, order_id: str) -> None:
    """As the exchange: an EOA order is made by its signer; a proxy wallet / Safe order (types 1, 2) by
    the signer's own (CREATE2 from the signer), never by another wallet whose funds it would spend."""
    maker, signer = order.maker.lower(), order.signer.lower()
    if order.signature_type == SignatureType.EOA and maker != signer:
        raise OrderRejected(INVALID_SIGNATURE, order_id)
    own = funder_of(signer, int(order.signature_type))
    if own is not None and maker != own:
        raise OrderRejected(INVALID_SIGNATURE, order_id)


async def _place(request: web.Request, key: ApiKey, raw: Any, endpoint: str) -> SubmitResult:
    state: SimState = request.app[STATE]
    rec = _record(state, raw, endpoint)
    try:
        req = _to_request(request, key, raw)
        await _chain_check(state, req, raw)
    except OrderRejected as exc:
        rec.order_id, rec.error = exc.order_id, exc.message
        return SubmitResult(order_id=exc.order_id, success=False, error=exc.message)
    state.remember_funder(key.api_key, req.owner)
    result = state.submit(req)
    rec.order_id, rec.accepted, rec.error, rec.status = (
        req.order_id,
        result.success,
        result.error,
        result.status,
    )
    return result


def _by_contract(state: SimState, order: Order, signature: str) -> bool:
    """Chain mode, signature type 3 with a plain 65-byte signature: the maker is a contract (a custody
    proxy in DIRECT mode) whose EIP-1271 ``isValidSignature`` says whether its signer may sign."""
    return (
        state.chain_venue is not None
        and order.signature_type == SignatureType.POLY_1271
        and len(signature) == 2 + 2 * 65
    )


async def _chain_check(state: SimState, req: OrderRequest, raw: Any) -> None:
    """Chain mode: the order's maker must hold what it gives, and have approved the exchange for it, on
    chain (a BUY its collateral, a SELL its shares), as the venue checks before it books an order; a
    contract's signature (signature type 3) is the contract's to accept, asked on chain."""
    venue = state.chain_venue
    if venue is None:
        return
    wire = msgspec.convert(raw, PostOrderV2).order  # validated by _to_request
    by_contract = wire.signature_type == SignatureType.POLY_1271 and len(wire.signature) == 2 + 2 * 65
    if by_contract and not await venue.accepts_signature(req.owner, req.order_id, wire.signature):
        raise OrderRejected(INVALID_SIGNATURE, req.order_id)
    info = state.info_by_token(req.token_id)
    if info is None or not venue.is_on_chain(info.condition_id):
        return
    making = int(wire.maker_amount)
    refusal = await venue.refusal(req.owner, req.side, req.token_id, making)
    if refusal is not None:
        raise OrderRejected(refusal, req.order_id)


async def _response(state: SimState, result: SubmitResult) -> PostOrderResponse:
    """The accepted order's answer; ``transactionsHashes`` are the chain's when mirrored (the answer
    waits until the mirror has sent the settlement transaction, as live answers after submitting it)."""
    hashes = list(await state.transaction_hashes(result))
    return PostOrderResponse(
        error_msg="",
        order_id=result.order_id,
        taking_amount=result.taking_amount,
        making_amount=result.making_amount,
        status=result.status,
        transactions_hashes=hashes or None,
        trade_ids=list(result.trade_ids) or None,
        success=True,
    )


async def _authenticated_body(request: web.Request, endpoint: str) -> tuple[ApiKey, Any]:
    """The caller's key and the parsed body. Orders refused at authentication are logged too, so
    the admin log holds every order that reached the simulator."""
    text = await request.text()
    try:
        raw = json.loads(text)
    except ValueError:
        raw = None
    try:
        key = await authenticate(request, text)
    except BadRequest as exc:
        state: SimState = request.app[STATE]
        for item in raw if isinstance(raw, list) else [raw]:
            _record(state, item, endpoint).error = exc.message
        raise
    if raw is None:
        raise BadRequest(errors.INVALID_PAYLOAD)
    return key, raw


async def _post_order(request: web.Request) -> web.Response:
    key, raw = await _authenticated_body(request, "POST /order")
    result = await _place(request, key, raw, "POST /order")
    if not result.success:
        err = ClobError(error=result.error, order_id=result.order_id or None)
        return json_response(err, 404 if "not found" in result.error else 400)
    return json_response(await _response(request.app[STATE], result))


async def _post_orders(request: web.Request) -> web.Response:
    key, items = await _authenticated_body(request, "POST /orders")
    if not isinstance(items, list):
        raise BadRequest(errors.INVALID_PAYLOAD)
    if len(items) > MAX_BATCH:
        raise BadRequest(f"Too many orders in payload: {len(items)}, max allowed: {MAX_BATCH}")
    out: list[PostOrderResponse] = []
    for raw in items:
        result = await _place(request, key, raw, "POST /orders")
        if result.success:
            out.append(await _response(request.app[STATE], result))
        else:  # live reports a rejected leg as success with an empty id and the reason
            out.append(
                PostOrderResponse(
                    error_msg=result.error,
                    order_id="",
                    taking_amount="",
                    making_amount="",
                    status="",
                    success=True,
                )
            )
    return json_response(out)


def _cancel(state: SimState, key: ApiKey, order_ids: list[str]) -> CancelResponse:
    mine: list[str] = []
    not_canceled: dict[str, str] = {}
    for order_id in dict.fromkeys(order_ids):
        view = state.engine.order(order_id)
        if view is None or view.api_owner != key.api_key:
            not_canceled[order_id] = errors.ORDER_NOT_FOUND
        else:
            mine.append(order_id)
    result: CancelResult = state.cancel_orders(mine, None) if mine else CancelResult(())
    return CancelResponse(
        canceled=list(result.canceled), not_canceled={**not_canceled, **result.not_canceled}
    )


async def _json_body(request: web.Request, key_fn: Any) -> tuple[ApiKey, Any]:
    text = await request.text()
    key = await key_fn(request, text)
    if not text:
        return key, None
    try:
        return key, json.loads(text)
    except ValueError:
        raise BadRequest(errors.INVALID_PAYLOAD) from None


async def _delete_order(request: web.Request) -> web.Response:
    key, body = await _json_body(request, authenticate)
    if not isinstance(body, dict) or not isinstance(body.get("orderID"), str):
        raise BadRequest(errors.INVALID_PAYLOAD)
    return json_response(_cancel(request.app[STATE], key, [body["orderID"]]))


async def _delete_orders(request: web.Request) -> web.Response:
    key, body = await _json_body(request, authenticate)
    if not isinstance(body, list) or not all(isinstance(i, str) for i in body):
        raise BadRequest(errors.INVALID_PAYLOAD)
    return json_response(_cancel(request.app[STATE], key, body))


async def _cancel_all(request: web.Request) -> web.Response:
    key, _ = await _json_body(request, authenticate)
    state: SimState = request.app[STATE]
    ids = [o.order_id for o in state.engine.open_orders() if o.api_owner == key.api_key]
    return json_response(_cancel(state, key, ids))


async def _cancel_market_orders(request: web.Request) -> web.Response:
    key, body = await _json_body(request, authenticate)
    if body is not None and not isinstance(body, dict):
        raise BadRequest(errors.INVALID_PAYLOAD)
    body = body or {}
    state: SimState = request.app[STATE]
    market, asset = body.get("market") or None, body.get("asset_id") or None
    ids = [
        o.order_id
        for o in state.engine.open_orders(market=market, asset_id=asset)
        if o.api_owner == key.api_key
    ]
    return json_response(_cancel(state, key, ids))


async def _heartbeat(request: web.Request) -> web.Response:
    """``POST /v1/heartbeats``: keep the key's orders alive; missing beats for 10 s cancels them all."""
    key, body = await _json_body(request, authenticate)
    if body is not None and not isinstance(body, dict):
        raise BadRequest(errors.INVALID_PAYLOAD)
    beat_id = request.app[STATE].heartbeat(key.api_key)
    return json_response({"status": "ok", "heartbeat_id": beat_id})


async def _redeem(request: web.Request) -> web.Response:
    """``POST /sim/redeem`` ``{"condition_id"}`` (L2-authenticated): the key's funder redeems its
    shares of a resolved market. Not a live CLOB endpoint: the simulator's stand-in for the
    conditional tokens' ``redeemPositions`` transaction (which the live venue leaves to the chain)."""
    key, body = await _json_body(request, authenticate)
    if not isinstance(body, dict) or not isinstance(body.get("condition_id"), str):
        raise BadRequest('expected {"condition_id"}')
    state: SimState = request.app[STATE]
    info = state.info_by_condition(body["condition_id"])
    if info is None:
        raise BadRequest("market not found", 404)
    try:
        paid = state.redeem(state.funder_of(key), info.condition_id)
    except SimError as exc:
        raise BadRequest(str(exc), 409) from None
    await state.chain_caught_up()  # chain mode: the wallet's redeemPositions is mined
    return json_response({"condition_id": info.condition_id, "payout": fmt_decimal(micro_to_decimal(paid))})


def add_order_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/sim/redeem", _redeem)
    r.add_post("/v1/heartbeats", _heartbeat)
    r.add_post("/heartbeats", _heartbeat)
    r.add_post("/order", _post_order)
    r.add_post("/orders", _post_orders)
    r.add_delete("/order", _delete_order)
    r.add_delete("/orders", _delete_orders)
    r.add_delete("/cancel-all", _cancel_all)
    r.add_delete("/cancel-market-orders", _cancel_market_orders)
