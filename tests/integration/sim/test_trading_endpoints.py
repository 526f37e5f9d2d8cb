"""CLOB trading endpoints over HTTP: batches, cancels, pagination cursors, balances, live errors."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp

from polyhunter.adapters.polymarket.auth import l1_headers
from polyhunter.adapters.polymarket.funder_wallets import proxy_wallet_of
from polyhunter.adapters.polymarket.order_signer import SignatureType, exchange_domain, order_to_wire_json
from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderRequest, OrderType
from polyhunter.sim.server_app import SimServer
from tests.support.sim_http import ANVIL_KEY_0, Trader


async def _trader(http: aiohttp.ClientSession, sim: SimServer) -> Trader:
    t = Trader(http, sim, ANVIL_KEY_0)
    await t.login()
    await t.fund("500")
    return t


async def test_batches_cancels_and_cursors(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await _trader(http, sim)
    info = next(i for i in sim.state.catalog if not i.market.neg_risk)
    token, other = info.market.tokens
    assert t.creds is not None
    bodies = []
    for i in range(16):
        order = t.signer.build(
            maker=None,
            token_id=int(token),
            maker_amount=1_000_000,
            taker_amount=10_000_000,
            side=Side.BUY,
            salt=i + 1,
        )
        bodies.append(
            order_to_wire_json(t.signer.sign(order, exchange_domain(137, 2)), t.creds.api_key, "GTC")
        )
    status, body = await t.request("POST", "/orders", bodies)
    assert (status, body) == (400, {"error": "Too many orders in payload: 16, max allowed: 15"})
    bodies[3]["order"]["signature"] = bodies[4]["order"]["signature"]  # one bad leg
    status, placed = await t.request("POST", "/orders", bodies[:15])
    assert status == 200
    assert len(placed) == 15
    bad = placed[3]
    assert (bad["success"], bad["orderID"], bad["errorMsg"]) == (True, "", "invalid signature")
    live_ids = [p["orderID"] for p in placed if p["orderID"]]
    assert len(live_ids) == 14
    assert all(p["status"] == "live" for p in placed if p["orderID"])

    status, page = await t.request("GET", "/data/orders")
    assert status == 200
    assert page["next_cursor"] == "LTE="
    assert sorted(o["id"] for o in page["data"]) == sorted(live_ids)
    status, err = await t.request("GET", "/data/trades?next_cursor=LTE=")
    assert status == 400

    status, result = await t.request("DELETE", "/orders", live_ids[:2] + ["0x" + "ab" * 32])
    assert result["canceled"] == live_ids[:2]
    assert result["not_canceled"] == {"0x" + "ab" * 32: "order not found"}
    status, result = await t.request(
        "DELETE", "/cancel-market-orders", {"market": info.condition_id, "asset_id": other}
    )
    assert result == {"canceled": [], "not_canceled": {}}
    status, result = await t.request("DELETE", "/cancel-market-orders", {"market": info.condition_id})
    assert sorted(result["canceled"]) == sorted(live_ids[2:])
    status, extra = await t.order(token, Side.BUY, "0.1", "10")
    status, result = await t.request("DELETE", "/cancel-all")
    assert result == {"canceled": [extra["orderID"]], "not_canceled": {}}
    status, page = await t.request("GET", "/data/orders")
    assert page["data"] == []
    status, again = await t.request("DELETE", "/order", {"orderID": live_ids[0]})
    assert again == {"canceled": [], "not_canceled": {live_ids[0]: "already canceled or matched"}}

    status, balance = await t.request("GET", "/balance-allowance?asset_type=COLLATERAL&signature_type=0")
    assert balance["balance"] == str(500 * 1_000_000)
    assert len(balance["allowances"]) == 3
    status, shares = await t.request("GET", f"/balance-allowance?asset_type=CONDITIONAL&token_id={token}")
    assert shares["balance"] == "0"


async def test_order_rule_errors_are_the_live_strings(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await _trader(http, sim)
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    bid, ask = sim.state.engine.best_bid_ask(token)
    assert bid is not None
    assert ask is not None
    status, body = await t.order(token, Side.BUY, "0.105", "10")
    assert status == 400
    assert (
        body["error"]
        == f"order {body['orderID']} is invalid. Price (0.105) breaks minimum tick size rule: 0.01"
    )
    status, body = await t.order(token, Side.BUY, "0.1", "2")
    assert body["error"] == f"order {body['orderID']} is invalid. Size (2) lower than the minimum: 5"
    status, body = await t.order(token, Side.BUY, str(ask), "100000", "FOK")
    assert body["error"] in (
        "order couldn't be fully filled. FOK orders are fully filled or killed.",
        "not enough balance / allowance",
    )
    status, body = await t.order(token, Side.BUY, str(bid - Decimal("0.01")), "10", "FAK")
    assert body["error"].startswith("no orders found to match with FAK order")
    status, body = await t.order(token, Side.SELL, str(ask), "10")
    assert (status, body["error"]) == (400, "not enough balance / allowance")

    async with http.get(
        sim.urls["clob"] + "/auth/derive-api-key", headers=l1_headers(ANVIL_KEY_0, 137, nonce=7)
    ) as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "Could not derive api key!"})
    headers = l1_headers(ANVIL_KEY_0, 1)  # signed for another chain
    async with http.post(sim.urls["clob"] + "/auth/api-key", headers=headers) as resp:
        assert (resp.status, await resp.json()) == (401, {"error": "Invalid L1 Request headers"})
    async with http.get(sim.urls["clob"] + "/data/orders") as resp:
        assert (resp.status, await resp.json()) == (401, {"error": "Unauthorized/Invalid api key"})


async def test_gtd_orders_expire_on_time(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await _trader(http, sim)
    assert t.creds is not None
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    expiration = sim.state.now_s() + 2
    order = t.signer.build(
        maker=None,
        token_id=int(token),
        maker_amount=1_000_000,
        taker_amount=10_000_000,
        side=Side.BUY,
        expiration=expiration,
    )
    wire = order_to_wire_json(t.signer.sign(order, exchange_domain(137, 2)), t.creds.api_key, "GTD")
    status, placed = await t.request("POST", "/order", wire)
    assert placed["status"] == "live"
    status, view = await t.request("GET", f"/data/order/{placed['orderID']}")
    assert view["status"] == "LIVE"
    for _ in range(60):
        await asyncio.sleep(0.1)
        status, view = await t.request("GET", f"/data/order/{placed['orderID']}")
        if view["status"] != "LIVE":
            break
    assert view["status"] == "CANCELED_EXPIRED_ORDER"
    status, balance = await t.request("GET", "/balance-allowance?asset_type=COLLATERAL")
    assert balance["balance"] == str(500 * 1_000_000)


async def test_missed_heartbeats_cancel_every_order(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await _trader(http, sim)
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    sim.state.heartbeat_timeout_s = 0.3
    status, placed = await t.order(token, Side.BUY, "0.1", "10")
    status, beat = await t.request("POST", "/v1/heartbeats", {"heartbeat_id": ""})
    assert status == 200
    assert beat["status"] == "ok"
    for _ in range(3):  # beating keeps the order alive
        await asyncio.sleep(0.15)
        status, again = await t.request("POST", "/v1/heartbeats", {"heartbeat_id": beat["heartbeat_id"]})
        assert again["heartbeat_id"] == beat["heartbeat_id"]
    status, view = await t.request("GET", f"/data/order/{placed['orderID']}")
    assert view["status"] == "LIVE"
    await asyncio.sleep(0.8)  # beats stop
    status, view = await t.request("GET", f"/data/order/{placed['orderID']}")
    assert view["status"] == "CANCELED"


async def test_data_trades_pages_with_cursors(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await _trader(http, sim)
    assert t.creds is not None
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    for i in range(105):
        _, ask = sim.state.engine.best_bid_ask(token)
        assert ask is not None
        req = OrderRequest(
            order_id=f"0x{i:064x}", owner=t.address, token_id=token, side=Side.BUY, price=ask,
            size=3_000_000, order_type=OrderType.FAK, api_owner=t.creds.api_key,
        )  # fmt: skip
        result = sim.state.submit(req)
        assert result.status == "matched", result.error
        sim.runner.makers[sim.state.catalog[0].condition_id].refresh()
    status, first = await t.request("GET", "/data/trades")
    assert (status, first["count"], first["limit"]) == (200, 100, 100)
    assert first["next_cursor"] not in ("MA==", "LTE=")
    status, second = await t.request("GET", f"/data/trades?next_cursor={first['next_cursor']}")
    assert (second["count"], second["next_cursor"]) == (5, "LTE=")
    ids = [r["id"] for r in first["data"] + second["data"]]
    assert len(set(ids)) == 105


async def test_a_proxy_order_for_another_wallets_funds_is_refused(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    """Issue 13: a follower with signature type 1 and another follower's address as its funder spent that
    follower's funds. As the exchange does, the simulator takes a type 1 / 2 order only when its maker is
    the signer's own proxy wallet / Safe (CREATE2 from the signer)."""
    victim = await _trader(http, sim)  # funded: what the thief would spend
    thief = Trader(http, sim, "0x" + "5e" * 32)
    await thief.login()
    assert thief.creds is not None
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]

    async def place(maker: str, sig_type: SignatureType) -> dict[str, object]:
        order = thief.signer.build(
            maker=maker,
            token_id=int(token),
            maker_amount=1_000_000,
            taker_amount=10_000_000,
            side=Side.BUY,
            signature_type=sig_type,
        )
        assert thief.creds is not None
        wire = order_to_wire_json(
            thief.signer.sign(order, exchange_domain(137, 2)), thief.creds.api_key, "GTC"
        )
        status, body = await thief.request("POST", "/order", wire)
        assert isinstance(body, dict)
        return {**body, "http": status}

    for sig_type in (SignatureType.POLY_PROXY, SignatureType.POLY_GNOSIS_SAFE):
        refused = await place(victim.address, sig_type)
        assert (refused["http"], refused["error"]) == (400, "invalid signature"), refused
    _, balance = await victim.request("GET", "/balance-allowance?asset_type=COLLATERAL&signature_type=0")
    assert balance["balance"] == str(500 * 1_000_000)  # untouched, nothing reserved
    own_proxy = proxy_wallet_of(thief.address.lower())
    async with http.post(
        sim.urls["admin"] + "/fund", json={"address": own_proxy, "collateral": "50"}
    ) as resp:
        assert resp.status == 200
    placed = await place(own_proxy, SignatureType.POLY_PROXY)
    assert (placed["http"], placed["success"], placed["status"]) == (200, True, "live"), placed
    assert placed["orderID"]
    refused = await place(own_proxy, SignatureType.POLY_GNOSIS_SAFE)  # its proxy wallet is not its Safe
    assert refused["error"] == "invalid signature"
