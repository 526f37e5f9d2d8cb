"""Order entry faults against the simulator over HTTP, driven by the official py_clob_client_v2:
``delayed`` (accepted now, matched later: a client reconciling the order sees it filled) and
``order_version_mismatch`` (on request, and after an admin ``POST /version`` cutover)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
import httpx
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    MarketOrderArgsV2,
    OrderArgsV2,
    OrderType,
    PartialCreateOrderOptions,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

from polyhunter.sim.server_app import SimServer
from tests.support.sim_http import ANVIL_ADDRESS_0, ANVIL_KEY_0, scenario


async def _admin(http: aiohttp.ClientSession, sim: SimServer, path: str, body: dict[str, Any]) -> Any:
    async with http.post(sim.urls["admin"] + path, json=body) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _plain_token(http: aiohttp.ClientSession, sim: SimServer) -> str:
    info = await scenario(http, sim)
    markets: list[dict[str, Any]] = info["markets"]  # type: ignore[assignment]
    token: str = next(m for m in markets if not m["neg_risk"])["tokens"][0]
    await _admin(http, sim, "/fund", {"address": ANVIL_ADDRESS_0, "collateral": "1000"})
    return token


def _client(host: str) -> ClobClient:
    client = ClobClient(host, chain_id=137, key=ANVIL_KEY_0)
    client.set_api_creds(client.create_or_derive_api_key())
    return client


def _delayed_flow(host: str, token: str) -> dict[str, Any]:
    client = _client(host)
    out: dict[str, Any] = {}
    out["post"] = client.create_and_post_market_order(
        MarketOrderArgsV2(token_id=token, amount=10, side="BUY"), order_type=OrderType.FAK
    )
    out["first_read"] = client.get_order(out["post"]["orderID"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # reconcile like a client: poll the order until it settles
        out["read"] = client.get_order(out["post"]["orderID"])
        if out["read"]["status"] == "MATCHED":
            break
        time.sleep(0.1)
    out["trades"] = client.get_trades(TradeParams(asset_id=token))
    return out


async def test_delayed_order_is_accepted_then_matched(sim: SimServer, http: aiohttp.ClientSession) -> None:
    token = await _plain_token(http, sim)
    faults = await _admin(http, sim, "/faults", {"delayed_s": 0.5})
    assert faults["delayed_s"] == 0.5
    async with http.get(sim.urls["clob"] + "/clob-markets/" + sim.state.catalog[0].condition_id) as r:
        assert (await r.json())["sd"] == 1  # seconds_delay, as live shows it on delayed markets
    began = time.monotonic()
    out = await asyncio.to_thread(_delayed_flow, sim.urls["clob"], token)
    waited = time.monotonic() - began

    post = out["post"]
    assert post["success"] is True
    assert post["status"] == "delayed"
    assert post["orderID"].startswith("0x")
    assert not post.get("transactionsHashes")
    assert out["first_read"]["status"] == "DELAYED"
    assert out["read"]["status"] == "MATCHED", out["read"]
    assert Decimal(out["read"]["size_matched"]) > 0
    assert waited >= 0.5
    assert any(t["taker_order_id"] == post["orderID"] for t in out["trades"])

    await _admin(http, sim, "/faults", {"delayed_s": None})
    now = await asyncio.to_thread(_delayed_flow, sim.urls["clob"], token)
    assert now["post"]["status"] == "matched"  # cleared: orders match at once again


def _mismatch_flow(host: str, token: str, bid: float) -> dict[str, Any]:
    client = _client(host)
    args = OrderArgsV2(token_id=token, price=bid, size=10, side="BUY")
    out: dict[str, Any] = {"version_before": client.get_version()}
    try:
        client.post_order(client.create_order(args), OrderType.GTC)
    except PolyApiException as exc:
        out["refused"] = (exc.status_code, exc.error_msg)
    out["after"] = client.post_order(client.create_order(args), OrderType.GTC)
    return out


async def test_order_version_mismatch_on_request(sim: SimServer, http: aiohttp.ClientSession) -> None:
    token = await _plain_token(http, sim)
    bid = float(sim.state.engine.best_bid_ask(token)[0] or Decimal("0.3")) - 0.05
    await _admin(http, sim, "/faults", {"order_version_mismatch": 1})
    out = await asyncio.to_thread(_mismatch_flow, sim.urls["clob"], token, round(bid, 2))
    status, body = out["refused"]
    assert status == 400
    assert body["error"] == "order_version_mismatch"
    assert body["orderID"].startswith("0x")
    assert out["version_before"] == 2
    assert out["after"]["success"] is True  # only the next order was refused
    assert out["after"]["status"] == "live"
    faults = await _admin(http, sim, "/faults", {})
    assert faults["order_version_mismatch"] == 0


def _cutover_flow(host: str, admin: str, token: str, bid: float) -> dict[str, Any]:
    client = _client(host)
    args = OrderArgsV2(token_id=token, price=bid, size=10, side="BUY")
    out: dict[str, Any] = {"v2": client.create_and_post_order(args)}  # caches version 2
    out["switch"] = httpx.post(admin + "/version", json={"version": 3}).json()  # the cutover
    try:
        client.post_order(client.create_order(args), OrderType.GTC)  # still signed for V2
    except PolyApiException as exc:
        out["refused"] = (exc.status_code, exc.error_msg)
    out["served"] = client.get_version()
    v3 = PartialCreateOrderOptions(version=3)
    out["v3"] = client.post_order(client.create_order(args, v3), OrderType.GTC)
    fresh = _client(host)  # a client starting after the cutover signs for V3 by itself
    out["fresh"] = fresh.create_and_post_order(OrderArgsV2(token_id=token, price=bid, size=11, side="BUY"))
    return out


async def test_version_switch_mid_run_refuses_orders_signed_for_the_old_version(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    token = await _plain_token(http, sim)
    bid = float(sim.state.engine.best_bid_ask(token)[0] or Decimal("0.3")) - 0.05
    out = await asyncio.to_thread(_cutover_flow, sim.urls["clob"], sim.urls["admin"], token, round(bid, 2))
    assert out["v2"]["success"] is True
    assert out["switch"] == {"version": 3}
    status, body = out["refused"]
    assert (status, body["error"]) == (400, "order_version_mismatch")
    assert out["served"] == 3
    assert out["v3"]["success"] is True
    assert out["v3"]["status"] == "live"
    assert out["fresh"]["success"] is True
    async with http.get(sim.urls["clob"] + "/version") as r:
        assert await r.json() == {"version": 3}
    async with http.get(sim.urls["admin"] + "/orders") as r:
        received = await r.json()
    assert [o["error"] for o in received] == ["", "order_version_mismatch", "", ""]
    # back to V2: the V3-signed order is now the mismatched one
    await _admin(http, sim, "/version", {"version": 2})
    async with http.get(sim.urls["clob"] + "/version") as r:
        assert await r.json() == {"version": 2}
