"""Market metadata and market-channel captures not covered in test_fixture_shapes: the Gamma market by
slug, CLOB market objects of closed markets, and the 2024 ``last_trade_price`` frame."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp

from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderType
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES
from tests.support.sim_http import assert_same_shape

# Null in one capture and typed in another (clob_market_closed_binary_accepting_false vs _true):
# rewards.rates without a rewards program, game_start_time on markets that are not games.
CAPTURED_NULLABLE = frozenset({"rates", "game_start_time"})


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


async def test_gamma_market_by_slug_matches_the_capture(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = next(i for i in sim.state.catalog if not i.market.neg_risk)
    async with http.get(sim.urls["gamma"] + f"/markets/slug/{info.slug}") as resp:
        assert resp.status == 200
        market = await resp.json()
    live = fixture("http/market_slug.json")
    # The trimmed capture holds clobTokenIds decoded into an array; Gamma serves the JSON-encoded
    # string (gamma/gamma_market.json, every SDK json.loads it). Compare it as served, then its content.
    served = {**live, "clobTokenIds": json.dumps(live["clobTokenIds"])}
    assert_same_shape(served, market, subset=True)  # the capture is trimmed: sim serves more keys
    tokens = json.loads(market["clobTokenIds"])
    assert tokens == list(info.market.tokens)
    assert [type(t) for t in tokens] == [type(t) for t in live["clobTokenIds"]] == [str, str]
    assert (market["slug"], market["conditionId"]) == (info.slug, info.condition_id)
    assert (market["active"], market["closed"], market["archived"]) == (True, False, False)
    assert Decimal(market["liquidity"]) >= 0  # a decimal string, like live
    async with http.get(sim.urls["gamma"] + "/markets/slug/no-such-market") as resp:
        assert resp.status == 404


async def test_closed_clob_markets_match_the_captures(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = sim.state.catalog[0]
    yes, no = info.market.tokens
    body = {"condition_id": info.condition_id, "winning_outcome": info.market.outcomes[1]}
    async with http.post(sim.urls["admin"] + "/resolve", json=body) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(sim.urls["clob"] + f"/markets/{info.condition_id}") as resp:
        assert resp.status == 200
        market = await resp.json()
    for name in (
        "http/clob_market_closed_binary_accepting_false.json",
        "http/clob_market_closed_binary_accepting_true.json",
    ):
        assert_same_shape(fixture(name), market, nullable=CAPTURED_NULLABLE)
    assert list(market) == list(fixture("http/market.json"))  # served key order
    assert market["closed"] is True
    assert market["accepting_orders"] is False
    assert market["enable_order_book"] is False
    assert [(t["token_id"], t["outcome"], t["price"], t["winner"]) for t in market["tokens"]] == [
        (yes, info.market.outcomes[0], 0, False),
        (no, info.market.outcomes[1], 1, True),
    ]
    assert len(market["accepting_order_timestamp"]) == len("2026-02-27T23:33:23Z")
    assert market["accepting_order_timestamp"].endswith("Z")
    async with http.get(sim.urls["clob"] + "/markets") as resp:
        page = await resp.json()
    listed = next(m for m in page["data"] if m["condition_id"] == info.condition_id)
    assert listed == market
    open_market = next(m for m in page["data"] if m["condition_id"] != info.condition_id)
    assert (open_market["closed"], open_market["enable_order_book"]) == (False, True)


async def test_last_trade_price_frame_matches_the_2024_capture(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    info = sim.state.catalog[0]
    token = info.market.tokens[0]
    bid, _ = sim.state.engine.best_bid_ask(token)
    assert bid is not None
    seller = "0x" + "2a" * 20
    agents = sim.runner.agents
    agents.ensure_shares(seller, token, 7_000_000)
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token], "type": "market"}))
        await ws.receive(timeout=5)  # the snapshot
        assert agents.submit(seller, token, Side.SELL, bid, 7_000_000, OrderType.FAK).status == "matched"
        frame: dict[str, Any] = {}
        while frame.get("event_type") != "last_trade_price":
            data = json.loads((await ws.receive(timeout=5)).data)
            frame = data if isinstance(data, dict) else {}
    live = fixture("ws-market/last_trade_price.json")
    assert_same_shape(live, frame, extra_ok=frozenset({"transaction_hash"}))  # added live since 2024
    assert (frame["market"], frame["asset_id"]) == (info.condition_id, token)
    assert (frame["side"], frame["size"], Decimal(frame["price"])) == ("SELL", "7", bid)
    assert len(frame["timestamp"]) == len(live["timestamp"])
