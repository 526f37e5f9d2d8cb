"""CLOB private endpoints for one trading key: API-key derive/create (L1), orders, balances (L2).

An answer that is not what the venue sends (garbled JSON, the wrong shape, order amounts that are not
finite non-negative numbers) raises ``RetryableError``: an order's outcome is then unknown and is
reconciled by the caller, never read from a malformed body. Answers are decoded as tolerantly as the
official client reads them (numbers for strings, unread fields left out: ``wire_lenient``); amounts
and prices are validated all the same.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec

from polyhunter.adapters.polymarket.auth import ApiCreds, l1_headers, l2_headers
from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, VenueAuthError, VenueError
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignedOrder, order_to_wire_json
from polyhunter.adapters.polymarket.wire_base import decode
from polyhunter.adapters.polymarket.wire_clob_rest import ApiCreds as WireCreds
from polyhunter.adapters.polymarket.wire_clob_rest import (
    BalanceAllowance,
    OpenOrder,
    PostOrderResponse,
    ServerVersion,
    TradesPage,
)
from polyhunter.adapters.polymarket.wire_lenient import decode_tolerant
from polyhunter.adapters.polymarket.wire_validation import SIZE_OUT_OF_RANGE, InvalidMessage, parse_decimal


def _compact(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _amount(text: str, field: str) -> None:
    if parse_decimal(text, field) < 0:
        raise InvalidMessage(SIZE_OUT_OF_RANGE, f"{field}: {text[:40]!r}")


def check_post_order_response(resp: PostOrderResponse) -> PostOrderResponse:
    """Amounts are finite non-negative decimals (``""`` is none); raises :class:`InvalidMessage`."""
    for text, field in ((resp.making_amount, "makingAmount"), (resp.taking_amount, "takingAmount")):
        if text:
            _amount(text, field)
    return resp


def check_open_order(order: OpenOrder) -> OpenOrder:
    """``size_matched``, ``original_size`` and ``price`` are finite non-negative decimals."""
    for text, field in ((order.size_matched, "size_matched"), (order.original_size, "original_size")):
        _amount(text, field)
    _amount(order.price, "price")
    return order


def check_balance_allowance(ba: BalanceAllowance) -> BalanceAllowance:
    """Balance and allowances (micro-units as decimal strings) are finite non-negative numbers."""
    _amount(ba.balance, "balance")
    for spender, value in (ba.allowances or {}).items():
        _amount(value, f"allowances[{spender[:42]}]")
    if ba.allowance is not None:
        _amount(ba.allowance, "allowance")
    return ba


def check_trades_page(page: TradesPage) -> TradesPage:
    """Each trade's size and price, and each maker leg's matched amount and price, are finite
    non-negative decimals (an order's fill is read from them)."""
    for trade in page.data:
        _amount(trade.size, "size")
        _amount(trade.price, "price")
        for leg in trade.maker_orders:
            _amount(leg.matched_amount, "matched_amount")
            _amount(leg.price, "price")
    return page


def decode_post_order_response(raw: bytes) -> PostOrderResponse:
    return check_post_order_response(decode_tolerant(raw, PostOrderResponse))


def decode_open_order(raw: bytes) -> OpenOrder:
    return check_open_order(decode_tolerant(raw, OpenOrder))


class ClobTradingClient:
    def __init__(
        self, http: HttpClient, signer: OrderSigner, chain_id: int, creds: ApiCreds | None = None
    ) -> None:
        self.http = http
        self.signer = signer
        self.chain_id = chain_id
        self.creds = creds

    async def close(self) -> None:
        await self.http.close()

    async def ensure_api_key(self) -> ApiCreds:
        """Derive the key for this signer; create one if the venue has none yet. A create refused (not
        an auth error) is derived once more: another process with the same wallet (a cluster worker on
        another host, starting at the same time) created it between our derive and our create."""
        if self.creds is not None:
            return self.creds
        headers = l1_headers(self.signer.private_key, self.chain_id)
        try:
            raw = await self.http.request("GET", "/auth/derive-api-key", headers=headers)
        except VenueError:
            headers = l1_headers(self.signer.private_key, self.chain_id)
            try:
                raw = await self.http.request("POST", "/auth/api-key", headers=headers)
            except VenueError as exc:
                # another process (a worker of the cluster, a second supervisor) created it between our
                # derive and create: the venue refuses a second create; the key is there to derive now
                if isinstance(exc, VenueAuthError):
                    raise
                headers = l1_headers(self.signer.private_key, self.chain_id)
                raw = await self.http.request("GET", "/auth/derive-api-key", headers=headers)
        wire = decode(raw, WireCreds)
        self.creds = ApiCreds(wire.api_key, wire.secret, wire.passphrase)
        return self.creds

    def _l2(self, method: str, path: str, body: str | None = None) -> dict[str, str]:
        if self.creds is None:
            raise RuntimeError("no API credentials: call ensure_api_key() first")
        return l2_headers(self.signer.address, self.creds, method, path, body)

    async def post_order(self, signed: SignedOrder, order_type: str) -> PostOrderResponse:
        """POST /order once (never retried here: an unknown result is reconciled by the caller)."""
        creds = await self.ensure_api_key()
        body = _compact(order_to_wire_json(signed, creds.api_key, order_type))
        raw = await self.http.request(
            "POST", "/order", body=body.encode(), headers=self._l2("POST", "/order", body), retry=False
        )
        try:
            return decode_post_order_response(raw)
        except (msgspec.DecodeError, InvalidMessage) as exc:  # placed or not: the caller reconciles
            raise RetryableError(f"POST /order: malformed answer: {exc}") from exc

    async def sim_redeem(self, condition_id: str) -> Decimal:
        """Redeem this wallet's shares of a resolved market through the simulator's ``POST /sim/redeem``
        (its stand-in for the conditional tokens' ``redeemPositions``; the live CLOB has no such
        endpoint: a live wallet redeems with a chain transaction). Returns the USDC paid."""
        await self.ensure_api_key()
        body = _compact({"condition_id": condition_id})
        raw = await self.http.request(
            "POST", "/sim/redeem", body=body.encode(), headers=self._l2("POST", "/sim/redeem", body)
        )
        try:
            payout = msgspec.json.decode(raw, type=dict[str, str])["payout"]
            return Decimal(payout)
        except (msgspec.DecodeError, KeyError, ArithmeticError) as exc:
            raise RetryableError(f"POST /sim/redeem: malformed answer: {exc}") from exc

    async def order_version(self) -> int:
        """The exchange version (2 or 3) orders must be signed for now (`GET /version`; 2 when the venue
        does not say, the SDKs' default)."""
        try:
            raw = await self.http.request("GET", "/version")
        except VenueError:
            return 2
        try:
            return decode(raw, ServerVersion).version
        except msgspec.DecodeError as exc:
            raise RetryableError(f"GET /version: malformed answer: {exc}") from exc

    async def get_order(self, order_id: str) -> OpenOrder | None:
        await self.ensure_api_key()
        path = f"/data/order/{order_id}"
        try:
            raw = await self.http.request("GET", path, headers=self._l2("GET", path))
        except VenueError as exc:
            if exc.status == 404:
                return None
            raise
        if raw.strip() in (b"", b"null", b"{}"):
            return None
        try:
            return decode_open_order(raw)
        except (msgspec.DecodeError, InvalidMessage) as exc:
            raise RetryableError(f"GET {path}: malformed answer: {exc}") from exc

    async def trades(
        self,
        *,
        asset_id: str | None = None,
        market: str | None = None,
        after: int | None = None,
        cursor: str | None = None,
    ) -> TradesPage:
        """One page of this key's trades (`cursor`: the previous page's `next_cursor`)."""
        await self.ensure_api_key()
        params: dict[str, Any] = {"maker_address": self.signer.address}
        if asset_id:
            params["asset_id"] = asset_id
        if market:
            params["market"] = market
        if after is not None:
            params["after"] = after
        if cursor:
            params["next_cursor"] = cursor
        raw = await self.http.request(
            "GET", "/data/trades", params=params, headers=self._l2("GET", "/data/trades")
        )
        try:
            return check_trades_page(decode_tolerant(raw, TradesPage))
        except (msgspec.DecodeError, InvalidMessage) as exc:
            raise RetryableError(f"GET /data/trades: malformed answer: {exc}") from exc

    async def balance_allowance(
        self, asset_type: str, token_id: str | None = None, signature_type: int = 0
    ) -> BalanceAllowance:
        await self.ensure_api_key()
        params: dict[str, Any] = {"asset_type": asset_type, "signature_type": signature_type}
        if token_id:
            params["token_id"] = token_id
        raw = await self.http.request(
            "GET", "/balance-allowance", params=params, headers=self._l2("GET", "/balance-allowance")
        )
        try:
            return check_balance_allowance(decode_tolerant(raw, BalanceAllowance))
        except (msgspec.DecodeError, InvalidMessage) as exc:
            raise RetryableError(f"GET /balance-allowance: malformed answer: {exc}") from exc

    async def update_balance_allowance(
        self, asset_type: str, token_id: str | None = None, signature_type: int = 0
    ) -> None:
        """`GET /balance-allowance/update`: the venue re-reads the wallet's balance and allowances from
        the chain (after a deposit or an approval; until then it answers from its cache)."""
        await self.ensure_api_key()
        params: dict[str, Any] = {"asset_type": asset_type, "signature_type": signature_type}
        if token_id:
            params["token_id"] = token_id
        path = "/balance-allowance/update"
        await self.http.request("GET", path, params=params, headers=self._l2("GET", path))
