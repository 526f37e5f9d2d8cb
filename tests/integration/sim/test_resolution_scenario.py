"""The simulator resolves markets in its scenario (`resolve_every_s`): the market channel sends
market_resolved, Gamma and the CLOB show the market closed with its winner, and a holder redeems for
itself through POST /sim/redeem, once (a second call pays nothing); redeeming an open market is refused.
Tick size changes and fee rates set by the admin API reach the CLOB endpoints and the market channel."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
import pytest

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient, VenueError
from polyhunter.adapters.polymarket.order_signer import OrderSigner
from polyhunter.sim.server_app import SimServer
from tests.support.sim_stack import follower_key


async def _market_frames(ws: aiohttp.ClientWebSocketResponse, wanted: str) -> dict[str, object]:
    async with asyncio.timeout(20):
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT or msg.data in ("PONG",):
                continue
            data = json.loads(msg.data)
            for item in data if isinstance(data, list) else [data]:
                if item.get("event_type") == wanted:
                    return dict(item)


async def test_scenario_resolves_and_a_holder_redeems_once() -> None:
    key, address = follower_key("sim-redeem", 0)
    async with (
        SimServer("quiet", 3, 0, markets=2, resolve_every_s=0.5) as sim,
        aiohttp.ClientSession() as http,
    ):
        first = sim.state.catalog[0]
        sim.state.fund_shares(address, first.market.tokens[0], 7_000_000)  # 7 of each outcome
        async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
            sub = {"assets_ids": list(first.market.tokens), "type": "market", "custom_feature_enabled": True}
            await ws.send_str(json.dumps(sub))
            resolved = await _market_frames(ws, "market_resolved")
        assert resolved["market"] == first.condition_id
        winner = str(resolved["winning_asset_id"])
        async with http.get(
            sim.urls["gamma"] + "/markets", params={"condition_ids": first.condition_id}
        ) as resp:
            (gamma,) = await resp.json()
        assert gamma["closed"] is True
        assert json.loads(gamma["outcomePrices"])[first.market.tokens.index(winner)] in ("1", 1)
        market = ClobMarketData(HttpClient(sim.urls["clob"]))
        client = ClobTradingClient(HttpClient(sim.urls["clob"]), OrderSigner(key), 137)
        try:
            state = await market.market_state(first.condition_id)
            assert state is not None
            assert (state.closed, state.winning_token) == (True, winner)
            cash = sim.state.engine.account(address).cash
            assert await client.sim_redeem(first.condition_id) == Decimal(7)  # 7 winning shares
            assert sim.state.engine.account(address).cash == cash + 7_000_000
            assert await client.sim_redeem(first.condition_id) == 0  # burned: nothing twice
            assert await market.market_state("0x" + "00" * 32) is None  # unknown market
        finally:
            await market.close()
            await client.close()


async def test_admin_tick_size_and_fee_rate_reach_the_venue(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    info = sim.state.catalog[0]
    token = info.market.tokens[0]
    admin = sim.urls["admin"]
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token], "type": "market"}))
        await asyncio.sleep(0.2)
        async with http.post(
            admin + "/tick-size", json={"condition_id": info.condition_id, "tick_size": "0.001"}
        ) as r:
            assert r.status == 200
        frame = await _market_frames(ws, "tick_size_change")
    assert (frame["asset_id"], frame["old_tick_size"], frame["new_tick_size"]) == (token, "0.01", "0.001")
    async with http.post(
        admin + "/fee-rate", json={"condition_id": info.condition_id, "taker_fee_rate": "0.04"}
    ) as r:
        assert r.status == 200
    market = ClobMarketData(HttpClient(sim.urls["clob"]))
    key, _ = follower_key("sim-redeem-open", 0)
    client = ClobTradingClient(HttpClient(sim.urls["clob"]), OrderSigner(key), 137)
    try:
        assert await market.tick_size(token) == Decimal("0.001")
        assert await market.fee_rate(token) == Decimal("0.04")
        with pytest.raises(VenueError) as refused:  # an open market cannot be redeemed
            await client.sim_redeem(info.condition_id)
        assert refused.value.status == 409
    finally:
        await market.close()
        await client.close()
    for body in (
        {"condition_id": info.condition_id, "tick_size": "0.3"},
        {"condition_id": "0x1", "tick_size": "0.01"},
    ):
        async with http.post(admin + "/tick-size", json=body) as r:
            assert r.status in (400, 404)
    async with http.post(
        admin + "/fee-rate", json={"condition_id": info.condition_id, "taker_fee_rate": "NaN"}
    ) as r:
        assert r.status == 400
