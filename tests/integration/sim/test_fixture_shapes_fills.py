"""Order and trade captures not covered in test_fixture_shapes: the partial FAK fill (``POST /order``
and ``GET /data/order``) and the user channel's maker-side trade events (user_trade1: MINED with
several makers, one of them on the other outcome; user_trade3: CONFIRMED, cross-outcome maker)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp

from polyhunter.domain.signal import Side
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES
from tests.support.sim_http import ANVIL_KEY_0, Trader, assert_same_shape

ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ORDERS = "http/order-responses-v1-2026-01/"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def human(value: Decimal) -> str:
    return format(value.normalize(), "f")


async def trader(http: aiohttp.ClientSession, sim: SimServer, key: str) -> Trader:
    t = Trader(http, sim, key)
    await t.login()
    await t.fund("1000")
    return t


async def book(http: aiohttp.ClientSession, sim: SimServer, token: str) -> dict[str, Any]:
    async with http.get(sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data


async def test_partial_fak_fill_and_its_order_status_match_live(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    t = await trader(http, sim, ANVIL_KEY_0)
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    touch = (await book(http, sim, token))["asks"][-1]  # best ask: the only level at its price
    price, depth = Decimal(touch["price"]), Decimal(touch["size"])
    wanted = depth + 5  # 5 more than the level holds: the rest of the FAK is killed
    status, body = await t.order(token, Side.BUY, str(price), str(wanted), "FAK")
    assert status == 200, body
    live = fixture(ORDERS + "poly_partial_fill_real.json")["response"]["body_parsed"]
    assert_same_shape(live, body, extra_ok=frozenset({"tradeIDs"}))
    assert (body["status"], body["success"], body["errorMsg"]) == ("matched", True, "")
    assert body["takingAmount"] == human(depth)
    assert body["makingAmount"] == human(depth * price)
    assert (await book(http, sim, token))["asks"][-1]["price"] != touch["price"]  # the level is gone
    status, order = await t.request("GET", f"/data/order/{body['orderID']}")
    assert status == 200, order
    captured = fixture(ORDERS + "poly_order_status_partial_real.json")["response"]
    assert_same_shape(captured["body_parsed"], order)
    assert list(order) == list(json.loads(captured["body_raw"]))  # served key order
    assert (order["status"], order["order_type"], order["side"]) == ("MATCHED", "FAK", "BUY")
    assert (order["original_size"], order["size_matched"]) == (human(wanted), human(depth))
    assert order["price"] == human(price)
    assert order["associate_trades"] == body["tradeIDs"]
    assert len(order["associate_trades"]) == 1


async def _trade_frames(ws: aiohttp.ClientWebSocketResponse, statuses: set[str]) -> dict[str, dict[str, Any]]:
    """Read the user channel until a trade frame in each of ``statuses`` arrived (keyed by status)."""
    seen: dict[str, dict[str, Any]] = {}
    while statuses - set(seen):
        frame = json.loads((await ws.receive(timeout=5)).data)
        if frame["event_type"] == "trade":
            seen[frame["status"]] = frame
    return seen


async def test_maker_side_trade_events_match_live(sim: SimServer, http: aiohttp.ClientSession) -> None:
    maker, taker = await trader(http, sim, ANVIL_KEY_0), await trader(http, sim, ANVIL_KEY_1)
    info = next(i for i in sim.state.catalog if not i.market.neg_risk)
    yes, no = info.market.tokens
    bid, ask = sim.state.engine.best_bid_ask(yes)
    assert bid is not None
    assert ask is not None
    inside = (bid + ask) / 2  # the scenario quotes two ticks wide: one price lies inside
    assert bid < inside < ask
    channels = []
    for t in (maker, taker):
        assert t.creds is not None
        auth = {"apiKey": t.creds.api_key, "secret": t.creds.secret, "passphrase": t.creds.passphrase}
        ws = await http.ws_connect(sim.urls["clob_ws"] + "/user")
        await ws.send_str(json.dumps({"auth": auth, "markets": [info.condition_id], "type": "user"}))
        channels.append(ws)
    maker_ws, taker_ws = channels
    try:
        await asyncio.sleep(0.05)
        # A NO bid at 1 - inside rests; it is liquidity for a YES buyer at `inside` (a MINT match)
        status, resting = await maker.order(no, Side.BUY, str(1 - inside), "5", "GTC")
        assert (status, resting["status"]) == (200, "live"), resting
        status, taken = await taker.order(yes, Side.BUY, str(ask), "10", "FAK")
        assert (status, taken["takingAmount"]) == (200, "10"), taken
        as_maker = await _trade_frames(maker_ws, {"MATCHED", "MINED", "CONFIRMED"})
        as_taker = await _trade_frames(taker_ws, {"MATCHED"})
    finally:
        for ws in channels:
            await ws.close()
    mined, confirmed = as_maker["MINED"], as_maker["CONFIRMED"]
    # user_trade1 predates maker_orders[].side (newer captures, user_trade3/4, carry it)
    assert_same_shape(fixture("ws-user/user_trade1.json"), mined, extra_ok=frozenset({"side"}))
    assert_same_shape(fixture("ws-user/user_trade3.json"), confirmed)
    for frame in (mined, confirmed):
        assert (frame["trader_side"], frame["asset_id"], frame["side"]) == ("MAKER", yes, "BUY")
        [mine] = frame["maker_orders"]  # this wallet's leg: its NO bid, the other outcome
        assert (mine["order_id"], mine["asset_id"], mine["side"]) == (resting["orderID"], no, "BUY")
        assert (mine["matched_amount"], Decimal(mine["price"])) == ("5", 1 - inside)
        assert frame["transaction_hash"] == taken["transactionsHashes"][0]
    assert int(confirmed["last_update"]) >= int(mined["last_update"]) >= int(mined["match_time"])
    # the taker sees every maker leg: the cross-outcome NO bid first (better price), then the YES ask
    legs = as_taker["MATCHED"]["maker_orders"]
    assert_same_shape(fixture("ws-user/user_trade1.json"), as_taker["MATCHED"], extra_ok=frozenset({"side"}))
    assert [(m["asset_id"], m["matched_amount"]) for m in legs] == [(no, "5"), (yes, "5")]
    assert as_taker["MATCHED"]["trader_side"] == "TAKER"
