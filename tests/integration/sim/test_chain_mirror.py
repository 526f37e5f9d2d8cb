"""``chain_rpc``: every simulator match is mirrored on anvil and published with the chain's tx hash."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderType
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES
from tests.support.sim_http import ANVIL_KEY_0, Trader, assert_same_shape

ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDERS_MATCHED_V2 = "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c"


async def test_matches_are_mirrored_with_the_chain_hash(anvil_url: str, http: aiohttp.ClientSession) -> None:
    async with SimServer(scenario="quiet", seed=4, port=0, chain_rpc=anvil_url, mined_delay_s=0.01) as sim:
        assert sim.urls["chain_rpc"] == anvil_url
        token = sim.state.catalog[0].market.tokens[0]
        _, ask = sim.state.engine.best_bid_ask(token)
        assert ask is not None
        leader = "0x" + "1e" * 20
        sim.runner.agents.ensure_cash(leader, 100_000_000)
        async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
            await ws.send_str(
                json.dumps(
                    {"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}]}
                )
            )
            result = sim.runner.agents.submit(leader, token, Side.BUY, ask, 10_000_000, OrderType.FAK)
            assert result.status == "matched"
            frame = json.loads((await ws.receive(timeout=30)).data)
        await sim.state.settle(timeout_s=30)
        async with http.get(sim.urls["data_api"] + "/trades", params={"user": leader}) as resp:
            rows = await resp.json()
    tx_hash = rows[0]["transactionHash"]
    assert frame["payload"]["transactionHash"] == tx_hash
    assert tx_hash not in result.transaction_hashes  # the engine's placeholder was replaced
    async with JsonRpcClient(anvil_url) as rpc:
        receipt = await rpc.get_transaction_receipt(tx_hash)
    assert receipt is not None
    assert receipt["status"] == "0x1"
    topics = [log["topics"][0] for log in receipt["logs"]]
    assert topics.count(ORDER_FILLED_V2) == 2  # one maker leg + the taker leg
    assert topics[-1] == ORDERS_MATCHED_V2
    assert any(log["topics"][2] == "0x" + "0" * 24 + leader[2:] for log in receipt["logs"][:-1])


async def test_post_order_answers_with_the_chain_transaction(
    anvil_url: str, http: aiohttp.ClientSession
) -> None:
    live = json.loads((FIXTURES / "http/order-responses-v1-2026-01/poly_full_fill_real.json").read_text())[
        "response"
    ]["body_parsed"]
    async with SimServer(scenario="quiet", seed=5, port=0, chain_rpc=anvil_url, mined_delay_s=0.01) as sim:
        t = Trader(http, sim, ANVIL_KEY_0)
        creds = await t.login()
        await t.fund("100")
        token = sim.state.catalog[0].market.tokens[0]
        _, ask = sim.state.engine.best_bid_ask(token)
        assert ask is not None
        auth = {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}
        async with http.ws_connect(sim.urls["clob_ws"] + "/user") as ws:
            await ws.send_str(json.dumps({"auth": auth, "type": "user"}))
            await asyncio.sleep(0.05)
            status, body = await t.order(token, Side.BUY, str(ask), "5", "FAK")
            assert status == 200, body
            frames: list[dict[str, Any]] = []
            while not any(f.get("status") == "MATCHED" and f["event_type"] == "trade" for f in frames):
                frames.append(json.loads((await ws.receive(timeout=30)).data))
        await sim.state.settle(timeout_s=30)
        async with http.get(sim.urls["data_api"] + "/trades", params={"user": t.address}) as resp:
            rows = await resp.json()
    assert_same_shape(live, body, extra_ok=frozenset({"tradeIDs"}))
    assert body["status"] == "matched"
    [tx_hash] = body["transactionsHashes"]
    assert [r["transactionHash"] for r in rows] == [tx_hash]  # the hash every other source publishes
    matched = next(f for f in frames if f["event_type"] == "trade")
    assert matched["transaction_hash"] == tx_hash  # MATCHED frames carry it too, like live
    async with JsonRpcClient(anvil_url) as rpc:
        receipt = await rpc.get_transaction_receipt(tx_hash)
    assert receipt is not None
    assert receipt["status"] == "0x1"
    assert receipt["logs"][-1]["topics"][0] == ORDERS_MATCHED_V2
    assert receipt["logs"][-1]["topics"][1] == body["orderID"].lower()  # takerOrderHash
