"""The official py_clob_client_v2 works against the simulator with only its host changed."""

from __future__ import annotations

import asyncio
import base64
import json
from decimal import Decimal
from typing import Any

import aiohttp
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    MarketOrderArgsV2,
    OpenOrderParams,
    OrderArgsV2,
    OrderPayload,
    OrderType,
    TradeParams,
)

from polyhunter.adapters.polymarket.auth import ApiCreds, l2_headers
from polyhunter.adapters.polymarket.order_signer import OrderSigner, exchange_domain, order_to_wire_json
from polyhunter.domain.signal import Side
from polyhunter.sim.server_app import SimServer
from tests.support.sim_http import ANVIL_ADDRESS_0, ANVIL_KEY_0, scenario


async def _fund(http: aiohttp.ClientSession, sim: SimServer, address: str, collateral: str) -> None:
    async with http.post(
        sim.urls["admin"] + "/fund", json={"address": address, "collateral": collateral}
    ) as r:
        assert r.status == 200, await r.text()


def _client_flow(host: str, token: str, neg_token: str) -> dict[str, Any]:
    """Everything a bot does with the SDK, run synchronously (the SDK is blocking)."""
    client = ClobClient(host, chain_id=137, key=ANVIL_KEY_0)
    creds = client.create_or_derive_api_key()
    again = client.create_or_derive_api_key()  # second call: create fails, derive returns the same key
    client.set_api_creds(creds)
    out: dict[str, Any] = {"creds": creds, "again": again}
    out["book"] = client.get_order_book(token)
    out["mid"] = client.get_midpoint(token)
    out["price"] = client.get_price(token, "BUY")
    out["tick"] = client.get_tick_size(token)
    out["neg_risk"] = client.get_neg_risk(neg_token)
    out["version"] = client.get_version()
    best_bid = float(out["book"]["bids"][-1]["price"])
    gtc = client.create_and_post_order(
        OrderArgsV2(token_id=token, price=round(best_bid - 0.05, 2), size=10, side="BUY"),
        order_type=OrderType.GTC,
    )
    out["gtc"] = gtc
    out["gtc_read"] = client.get_order(gtc["orderID"])
    out["open"] = client.get_open_orders(OpenOrderParams(asset_id=token))
    out["cancel"] = client.cancel_order(OrderPayload(orderID=gtc["orderID"]))
    out["fok"] = client.create_and_post_market_order(
        MarketOrderArgsV2(token_id=token, amount=10, side="BUY"), order_type=OrderType.FOK
    )
    out["fok_read"] = client.get_order(out["fok"]["orderID"])
    out["balance_after_fok"] = client.get_balance_allowance()
    out["neg_fok"] = client.create_and_post_market_order(
        MarketOrderArgsV2(token_id=neg_token, amount=5, side="BUY"), order_type=OrderType.FOK
    )
    out["trades"] = client.get_trades(TradeParams(asset_id=token))
    out["balance"] = client.get_balance_allowance()
    return out


async def test_official_client_full_flow(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = await scenario(http, sim)
    markets: list[dict[str, Any]] = info["markets"]  # type: ignore[assignment]
    plain = next(m for m in markets if not m["neg_risk"])
    neg = next(m for m in markets if m["neg_risk"])
    token, neg_token = plain["tokens"][0], neg["tokens"][0]
    await _fund(http, sim, ANVIL_ADDRESS_0, "1000")

    out = await asyncio.to_thread(_client_flow, sim.urls["clob"], token, neg_token)

    assert out["creds"].api_key
    assert out["again"].api_key == out["creds"].api_key
    book = out["book"]
    bids = [Decimal(level["price"]) for level in book["bids"]]
    asks = [Decimal(level["price"]) for level in book["asks"]]
    assert bids == sorted(bids)
    assert asks == sorted(asks, reverse=True)
    assert Decimal(out["mid"]["mid"]) == (bids[-1] + asks[-1]) / 2
    assert out["price"] == {"price": str(bids[-1]).rstrip("0").rstrip(".")}
    assert out["tick"] == "0.01"
    assert out["neg_risk"] is True
    assert out["version"] == 2

    gtc = out["gtc"]
    assert gtc["success"] is True
    assert gtc["status"] == "live"
    assert gtc["errorMsg"] == ""
    assert gtc["orderID"].startswith("0x")
    assert len(gtc["orderID"]) == 66
    assert out["gtc_read"]["status"] == "LIVE"
    assert out["gtc_read"]["original_size"] == "10"
    assert [o["id"] for o in out["open"]] == [gtc["orderID"]]
    assert out["cancel"] == {"canceled": [gtc["orderID"]], "not_canceled": {}}

    fok = out["fok"]
    assert fok["success"] is True
    assert fok["status"] == "matched"
    assert Decimal(fok["makingAmount"]) <= Decimal(10)
    assert Decimal(fok["takingAmount"]) > 0
    assert fok["transactionsHashes"]
    assert fok["transactionsHashes"][0].startswith("0x")
    assert out["fok_read"]["status"] == "MATCHED"
    assert out["fok_read"]["order_type"] == "FOK"
    assert out["neg_fok"]["status"] == "matched"  # signed for the neg-risk exchange by the SDK
    assert any(t["taker_order_id"] == fok["orderID"] for t in out["trades"])
    # the plain market charges no fee: the balance drops by exactly makingAmount
    assert (
        Decimal(out["balance_after_fok"]["balance"])
        == (Decimal(1000) - Decimal(fok["makingAmount"])) * 1_000_000
    )
    # the neg-risk (Politics) market charges the taker fee on top
    after_neg = (
        Decimal(out["balance_after_fok"]["balance"]) - Decimal(out["neg_fok"]["makingAmount"]) * 1_000_000
    )
    assert Decimal(out["balance"]["balance"]) < after_neg


async def _post(http: aiohttp.ClientSession, sim: SimServer, creds: ApiCreds, body: dict[str, Any]) -> Any:
    text = json.dumps(body, separators=(",", ":"))
    headers = l2_headers(ANVIL_ADDRESS_0, creds, "POST", "/order", text)
    headers["Content-Type"] = "application/json"
    async with http.post(sim.urls["clob"] + "/order", data=text, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_order_signed_for_the_wrong_exchange_is_rejected(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    info = await scenario(http, sim)
    neg = next(m for m in info["markets"] if m["neg_risk"])  # type: ignore[attr-defined]
    await _fund(http, sim, ANVIL_ADDRESS_0, "100")
    client = ClobClient(sim.urls["clob"], chain_id=137, key=ANVIL_KEY_0)
    sdk_creds = await asyncio.to_thread(client.create_or_derive_api_key)
    creds = ApiCreds(sdk_creds.api_key, sdk_creds.api_secret, sdk_creds.api_passphrase)
    signer = OrderSigner(ANVIL_KEY_0)
    order = signer.build(
        maker=None,
        token_id=int(neg["tokens"][0]),
        maker_amount=2_000_000,
        taker_amount=10_000_000,
        side=Side.BUY,
    )

    wrong = signer.sign(order, exchange_domain(137, 2, neg_risk=False))
    status, body = await _post(http, sim, creds, order_to_wire_json(wrong, creds.api_key, "GTC"))
    assert (status, body["error"]) == (400, "invalid signature")

    right = signer.sign(order, exchange_domain(137, 2, neg_risk=True))
    status, body = await _post(http, sim, creds, order_to_wire_json(right, creds.api_key, "GTC"))
    assert status == 200
    assert body["success"] is True
    assert body["orderID"] == right.order_hash

    status, body = await _post(http, sim, creds, order_to_wire_json(right, creds.api_key, "GTC"))
    assert (status, body["error"]) == (400, f"order {right.order_hash} is invalid. Duplicated.")

    other_owner = order_to_wire_json(right, "00000000-0000-0000-0000-000000000000", "GTC")
    status, body = await _post(http, sim, creds, other_owner)
    assert (status, body["error"]) == (400, "the order owner has to be the owner of the API KEY")

    bad = ApiCreds(creds.api_key, base64.urlsafe_b64encode(b"x" * 32).decode(), creds.passphrase)
    status, body = await _post(http, sim, bad, order_to_wire_json(right, creds.api_key, "GTC"))
    assert (status, body) == (401, {"error": "Unauthorized/Invalid api key"})

    async with http.get(sim.urls["admin"] + "/orders", params={"maker": ANVIL_ADDRESS_0}) as resp:
        received = await resp.json()
    assert len(received) == 5  # refused at authentication too: every order that reached the venue
    assert [r["accepted"] for r in received] == [False, True, False, False, False]
    assert received[1]["order"]["signature"] == right.signature
    assert received[4]["error"] == "Unauthorized/Invalid api key"
    assert [r["order"]["signature"] for r in received].count(right.signature) == 4  # duplicates countable


def _account_flow(host: str) -> dict[str, Any]:
    client = ClobClient(host, chain_id=137, key=ANVIL_KEY_0)
    client.set_api_creds(client.create_or_derive_api_key())
    out: dict[str, Any] = {
        "keys": client.get_api_keys(),
        "closed_only": client.get_closed_only_mode(),
        "markets": client.get_markets(),
        "simplified": client.get_simplified_markets(),
        "sampling": client.get_sampling_simplified_markets(),
        "server_time": client.get_server_time(),
        "last": client.get_last_trade_price(client.get_markets()["data"][0]["tokens"][0]["token_id"]),
    }
    out["deleted"] = client.delete_api_key()
    out["recreated"] = client.create_api_key()  # the nonce is free again
    return out


async def test_official_client_account_and_market_listing(sim: SimServer) -> None:
    out = await asyncio.to_thread(_account_flow, sim.urls["clob"])
    assert out["keys"] == {"apiKeys": [out["recreated"].api_key]}
    assert out["closed_only"] == {"closed_only": False}
    assert len(out["markets"]["data"]) == len(sim.state.catalog)
    simplified = out["simplified"]["data"][0]
    assert set(simplified) == {
        "condition_id",
        "rewards",
        "tokens",
        "active",
        "closed",
        "archived",
        "accepting_orders",
    }
    assert out["sampling"]["next_cursor"] == "LTE="
    assert isinstance(out["server_time"], int)
    assert out["last"] == {"price": "0.5", "side": ""}
    assert out["deleted"] == "OK"
