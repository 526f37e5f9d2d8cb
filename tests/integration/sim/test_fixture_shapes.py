"""Every live-captured fixture has a simulator twin with the same shape (fields, JSON types, ordering).

The simulator runs in-process on real sockets; each test drives it through HTTP or websockets and
compares the answer with the REAL capture named in the fixtures README.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from polyhunter.adapters.polymarket.eip712 import to_checksum_address
from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderType
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES
from tests.support.sim_http import ANVIL_KEY_0, Trader, assert_same_shape, assert_worst_first

ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
# rewards.rates is null on markets without a rewards program (http/clob_market_closed_*.json)
REWARD_RATES = frozenset({"rates"})


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def plain_market(sim: SimServer) -> MarketInfo:
    return next(i for i in sim.state.catalog if not i.market.neg_risk)


def best(sim: SimServer, token: str) -> tuple[Decimal, Decimal]:
    bid, ask = sim.state.engine.best_bid_ask(token)
    assert bid is not None
    assert ask is not None
    return bid, ask


async def trader(http: aiohttp.ClientSession, sim: SimServer, key: str = ANVIL_KEY_0) -> Trader:
    t = Trader(http, sim, key)
    await t.login()
    await t.fund("1000")
    return t


async def take(t: Trader, sim: SimServer, token: str, size: str = "10") -> dict[str, Any]:
    _, ask = best(sim, token)
    status, body = await t.order(token, Side.BUY, str(ask), size, "FAK")
    assert status == 200, body
    return dict(body)


async def test_rest_book_has_the_live_shape_and_field_order(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    token = plain_market(sim).market.tokens[1]
    async with http.get(sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
        book = await resp.json()
    live = fixture("current-2026-09/book.json")
    assert_same_shape(live, book)
    assert list(book) == list(live)  # served key order
    assert_worst_first(book)
    assert book["hash"] == generate_orderbook_summary_hash(
        parse_raw_orderbook_summary(dict(book))
    )  # SDK check
    assert_same_shape(fixture("http/book.json"), book, subset=True)  # the 2024 capture lacks the newer keys
    async with http.get(sim.urls["clob"] + "/book", params={"token_id": "123"}) as resp:
        assert (resp.status, await resp.json()) == (
            404,
            {"error": "No orderbook exists for the requested token id"},
        )
    for path in ("/books", "/midpoints", "/prices", "/last-trades-prices"):
        async with http.get(sim.urls["clob"] + path, params={"token_ids": token}) as resp:
            assert (resp.status, await resp.json()) == (400, {"error": "Invalid payload"})


async def test_price_endpoints_use_the_live_types(sim: SimServer, http: aiohttp.ClientSession) -> None:
    token = plain_market(sim).market.tokens[0]
    bid, ask = best(sim, token)
    base = sim.urls["clob"]
    expected = {
        "/midpoint": {"mid": str((bid + ask) / 2)},
        "/spread": {"spread": str(ask - bid)},
        "/tick-size": {"minimum_tick_size": 0.01},
        "/neg-risk": {"neg_risk": False},
        "/last-trade-price": {"price": "0.5", "side": ""},
    }
    for path, want in expected.items():
        async with http.get(base + path, params={"token_id": token}) as resp:
            assert await resp.json() == want, path
    async with http.get(base + "/price", params={"token_id": token, "side": "BUY"}) as resp:
        assert await resp.json() == {"price": str(bid)}
    async with http.post(base + "/books", json=[{"token_id": token}]) as resp:
        books = await resp.json()
    assert_same_shape(fixture("current-2026-09/book.json"), books[0])
    async with http.get(base + "/version") as resp:
        assert await resp.json() == {"version": 2}


async def test_clob_market_objects_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = plain_market(sim)
    async with http.get(sim.urls["clob"] + f"/markets/{info.condition_id}") as resp:
        market = await resp.json()
    assert_same_shape(fixture("http/market.json"), market, nullable=REWARD_RATES)
    async with http.get(sim.urls["clob"] + "/markets") as resp:
        page = await resp.json()
    assert_same_shape(fixture("http/markets.json"), page)
    assert page["next_cursor"] == "LTE="
    async with http.get(sim.urls["clob"] + "/markets", params={"next_cursor": "LTE="}) as resp:
        assert resp.status == 400


async def test_post_order_and_order_status_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await trader(http, sim)
    token = plain_market(sim).market.tokens[0]
    _, ask = best(sim, token)  # the touch the FAK will lift, read before it trades
    status, body = await t.order(token, Side.BUY, str(ask), "5", "FAK")
    assert status == 200, body
    live = fixture("http/order-responses-v1-2026-01/poly_full_fill_real.json")["response"]["body_parsed"]
    assert_same_shape(live, body, extra_ok=frozenset({"tradeIDs"}))
    assert body["status"] == "matched"
    assert body["takingAmount"] == "5"
    assert body["makingAmount"] == format((5 * ask).normalize(), "f")  # e.g. "2.65" as live prints it
    status, order = await t.request("GET", f"/data/order/{body['orderID']}")
    live_order = fixture("http/order-responses-v1-2026-01/poly_order_status_full_real.json")
    assert status == 200
    assert_same_shape(live_order["response"]["body_parsed"], order)
    assert order["order_type"] == "FAK"
    assert order["status"] == "MATCHED"
    await sim.state.settle()
    status, trades = await t.request("GET", "/data/trades")
    assert status == 200
    assert trades["next_cursor"] == "LTE="
    assert trades["count"] == 1
    assert_same_shape(
        fixture("ws-market/trades_data_trades_row.json"), trades["data"][0], extra_ok=frozenset({"side"})
    )
    assert trades["data"][0]["status"] == "CONFIRMED"


async def test_data_api_and_rtds_rows_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await trader(http, sim)
    token = plain_market(sim).market.tokens[0]
    async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
        sub = {"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}]}
        await ws.send_str(json.dumps(sub))
        await ws.send_str("ping")  # live never answers
        await take(t, sim, token)
        frames = [json.loads((await ws.receive(timeout=5)).data) for _ in range(2)]  # taker + maker rows
    live_frames = fixture("current-2026-09/rtds_activity_trades.json")
    without_fee = next(f for f in live_frames if "fee" not in f["payload"])
    for frame in frames:
        assert_same_shape(without_fee, frame)
        assert list(frame) == list(without_fee)
        wallet = frame["payload"]["proxyWallet"]
        assert wallet == to_checksum_address(wallet)
        assert wallet != wallet.lower()
        assert len(str(frame["timestamp"])) == 13
        assert len(str(frame["payload"]["timestamp"])) == 10
    taker_row = next(f for f in frames if f["payload"]["proxyWallet"] == t.address)
    async with http.get(sim.urls["data_api"] + "/trades", params={"user": t.address}) as resp:
        rows = await resp.json()
    assert len(rows) == 1
    assert_same_shape(fixture("http/data_api_trades_mixed.json"), rows)
    assert rows[0]["proxyWallet"] == t.address.lower()
    assert rows[0]["transactionHash"] == taker_row["payload"]["transactionHash"]
    async with http.get(sim.urls["data_api"] + "/activity", params={"user": t.address}) as resp:
        activity = await resp.json()
    assert activity[0]["type"] == "TRADE"
    assert activity[0]["usdcSize"] > 0


async def test_market_channel_frames_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await trader(http, sim)
    info = plain_market(sim)
    token = info.market.tokens[0]
    live = fixture("current-2026-09/clob_ws.json")
    flat = [f for item in live for f in (item if isinstance(item, list) else [item])]
    live_by_type = {f["event_type"]: f for f in flat}
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token], "type": "market"}))
        snapshot = json.loads((await ws.receive(timeout=5)).data)
        assert isinstance(snapshot, list)
        assert len(snapshot) == 1
        assert_same_shape(live_by_type["book"], snapshot[0])
        assert_same_shape(fixture("ws-market/book.json"), snapshot[0], subset=True)  # 2024: no tick_size
        assert_worst_first(snapshot[0])
        await ws.send_str("PING")
        assert (await ws.receive(timeout=5)).data == "PONG"
        await ws.send_str(json.dumps({"operation": "subscribe", "assets_ids": ["999"]}))
        assert json.loads((await ws.receive(timeout=5)).data) == []
        await take(t, sim, token)
        seen: dict[str, dict[str, Any]] = {}
        while {"price_change", "last_trade_price", "book"} - set(seen):
            frame = json.loads((await ws.receive(timeout=5)).data)
            seen[frame["event_type"]] = frame
        sim.state.dispatch(sim.state.engine.set_tick_size(info.condition_id, Decimal("0.001")))
        tick = json.loads((await ws.receive(timeout=5)).data)
        while tick["event_type"] != "tick_size_change":
            tick = json.loads((await ws.receive(timeout=5)).data)
    assert_same_shape(live_by_type["price_change"], seen["price_change"])
    assert_same_shape(fixture("ws-market/price_change_v2.json"), seen["price_change"])
    assert_same_shape(live_by_type["last_trade_price"], seen["last_trade_price"])
    assert seen["last_trade_price"]["transaction_hash"].startswith("0x")
    assert_same_shape(live_by_type["book"], seen["book"])  # the book re-sent after the trade
    assert seen["book"]["last_trade_price"] != ""
    assert_same_shape(fixture("ws-market/tick_size_change.json"), tick)
    assert (tick["old_tick_size"], tick["new_tick_size"]) == ("0.01", "0.001")
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": ["42"], "type": "market"}))
        assert (await ws.receive(timeout=5)).data == "[]"


async def _user_frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    return [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def test_user_channel_events_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    t = await trader(http, sim)
    info = plain_market(sim)
    token = info.market.tokens[0]
    bid, ask = best(sim, token)
    inside = (bid + ask) / 2
    assert t.creds is not None
    auth = {"apiKey": t.creds.api_key, "secret": t.creds.secret, "passphrase": t.creds.passphrase}
    async with http.ws_connect(sim.urls["clob_ws"] + "/user") as ws:
        await ws.send_str(json.dumps({"auth": auth, "markets": [info.condition_id], "type": "user"}))
        await asyncio.sleep(0.05)
        status, resting = await t.order(token, Side.BUY, str(inside), "5", "GTC")
        assert status == 200
        assert resting["status"] == "live"
        placement = (await _user_frames(ws, 1))[0]
        assert_same_shape(fixture("ws-user/order_placement.json"), placement)
        assert (placement["type"], placement["status"]) == ("PLACEMENT", "LIVE")
        await take(t, sim, token, "10")
        taker = [f for f in await _user_frames(ws, 2) if f["event_type"] == "trade"]
        assert_same_shape(fixture("ws-user/user_trade2.json"), taker[0], extra_ok=frozenset({"side"}))
        statuses = [taker[0]["status"]] + [f["status"] for f in await _user_frames(ws, 2)]
        assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
        # a counterparty sells into the resting bid: this wallet is the MAKER
        agent = sim.runner.agents
        seller = "0x" + "5e" * 20
        agent.ensure_shares(seller, token, 5_000_000)
        agent.submit(seller, token, Side.SELL, inside, 5_000_000, OrderType.FAK)
        frames = await _user_frames(ws, 4)
        update = next(f for f in frames if f["event_type"] == "order")
        maker_trades = [f for f in frames if f["event_type"] == "trade"]
        assert update["type"] == "UPDATE"
        assert update["status"] == "MATCHED"
        assert_same_shape(fixture("ws-user/user_trade4.json"), maker_trades[-1])
        assert maker_trades[0]["trader_side"] == "MAKER"
        status, rest2 = await t.order(token, Side.BUY, str(inside), "5", "GTC")
        await _user_frames(ws, 1)
        status, cancel = await t.request("DELETE", "/order", {"orderID": rest2["orderID"]})
        assert cancel == {"canceled": [rest2["orderID"]], "not_canceled": {}}
        cancellation = (await _user_frames(ws, 1))[0]
        assert_same_shape(fixture("ws-user/order_cancel.json"), cancellation)
        assert (cancellation["type"], cancellation["status"]) == ("CANCELLATION", "CANCELED")
    async with http.ws_connect(sim.urls["clob_ws"] + "/user") as ws:
        await ws.send_str(json.dumps({"auth": {**auth, "secret": "nope"}, "type": "user"}))
        assert json.loads((await ws.receive(timeout=5)).data) == {"error": "Unauthorized/Invalid api key"}


async def test_gamma_objects_use_live_fields(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = plain_market(sim)
    base = sim.urls["gamma"]
    for params in ({"slug": info.slug}, {"condition_ids": info.condition_id}, {"id": str(info.gamma_id)}):
        async with http.get(base + "/markets", params=params) as resp:
            markets = await resp.json()
        assert [m["conditionId"] for m in markets] == [info.condition_id], params
    assert_same_shape(fixture("gamma/gamma_market.json"), markets[0], trimmed=True)
    assert json.loads(markets[0]["clobTokenIds"]) == list(info.market.tokens)
    async with http.get(base + "/events", params={"slug": info.event_slug}) as resp:
        events = await resp.json()
    assert_same_shape(fixture("gamma/gamma_event.json")[0], events[0], trimmed=True)
    assert info.condition_id in [m["conditionId"] for m in events[0]["markets"]]
    assert_same_shape(fixture("http/event.json"), events[0], trimmed=True, subset=True)
