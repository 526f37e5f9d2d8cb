"""Fault injection over real sockets: 429/5xx rates, latency, websocket drops, silence, stale books."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderType
from polyhunter.sim.server_app import SimServer


async def set_faults(http: aiohttp.ClientSession, sim: SimServer, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(sim.urls["admin"] + "/faults", json=body) as resp:
        data: dict[str, Any] = await resp.json()
        assert resp.status == 200, data
        return data


def token_of(sim: SimServer) -> str:
    return sim.state.catalog[0].market.tokens[0]


def leader_take(sim: SimServer) -> None:
    """A simulated wallet lifts the best ask (a real match that changes the book)."""
    token = token_of(sim)
    _, ask = sim.state.engine.best_bid_ask(token)
    assert ask is not None
    wallet = "0x" + "77" * 20
    sim.runner.agents.ensure_cash(wallet, 100_000_000)
    result = sim.runner.agents.submit(wallet, token, Side.BUY, ask, 20_000_000, OrderType.FAK)
    assert result.status == "matched"


async def test_429_rate_is_applied_per_endpoint_and_cleared(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    token = token_of(sim)
    await set_faults(http, sim, {"rate_429": {"clob:/book": 0.5, "data_api": 1.0}})
    statuses = []
    for _ in range(200):
        async with http.get(sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert await resp.json() == {"error": "Too Many Requests"}
                assert resp.headers["Retry-After"] == "1"
    assert 60 <= statuses.count(429) <= 140
    assert set(statuses) == {200, 429}
    async with http.get(sim.urls["clob"] + "/time") as resp:  # other endpoints of the surface unaffected
        assert resp.status == 200
    async with http.get(sim.urls["data_api"] + "/trades") as resp:
        assert resp.status == 429
    async with http.get(sim.urls["admin"] + "/health") as resp:  # admin never faults
        assert resp.status == 200
    await set_faults(http, sim, {"clear": True})
    async with http.get(sim.urls["data_api"] + "/trades") as resp:
        assert resp.status == 200


async def test_5xx_and_latency(sim: SimServer, http: aiohttp.ClientSession) -> None:
    await set_faults(http, sim, {"rate_5xx": {"gamma": 1.0}, "latency_ms": {"clob:/time": 200}})
    async with http.get(sim.urls["gamma"] + "/markets") as resp:
        assert resp.status in (500, 503)
    started = time.perf_counter()
    async with http.get(sim.urls["clob"] + "/time") as resp:
        assert resp.status == 200
    assert time.perf_counter() - started >= 0.2
    async with http.post(sim.urls["admin"] + "/faults", json={"rate_429": {"nowhere": 0.5}}) as resp:
        assert resp.status == 400
    async with http.post(sim.urls["admin"] + "/faults", json={"rate_429": {"clob": 2}}) as resp:
        assert resp.status == 400


async def _timed(http: aiohttp.ClientSession, url: str, **params: str) -> float:
    started = time.perf_counter()
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, (url, await resp.text())
        await resp.read()
    return time.perf_counter() - started


async def test_latency_on_one_endpoint_leaves_the_others_alone(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    token, user = token_of(sim), "0x" + "1" * 40
    clob, data = sim.urls["clob"], sim.urls["data_api"]
    await set_faults(http, sim, {"latency_ms": {"clob:/time": 400, "data_api:/trades": 400}})
    for url in (clob + "/time", data + "/trades"):
        assert min([await _timed(http, url) for _ in range(2)]) >= 0.4, url  # every call waits
    unaffected: list[tuple[str, dict[str, str]]] = [
        (clob + "/book", {"token_id": token}),
        (clob + "/midpoint", {"token_id": token}),
        (clob + "/version", {}),
        (data + "/activity", {"user": user}),
        (data + "/positions", {"user": user}),
        (sim.urls["gamma"] + "/markets", {}),
    ]
    for url, params in unaffected:  # best of three: well under the injected 400 ms
        assert min([await _timed(http, url, **params) for _ in range(3)]) < 0.2, url
    slow = asyncio.create_task(_timed(http, clob + "/time"))
    await asyncio.sleep(0.05)  # the slow call is in flight, sleeping in the server
    for url, params in unaffected[:2]:
        await _timed(http, url, **params)
    assert not slow.done()  # the delayed request does not hold up the others on its surface
    assert await slow >= 0.4
    await set_faults(http, sim, {"clear": True})
    assert min([await _timed(http, clob + "/time") for _ in range(3)]) < 0.2


async def test_websocket_drop_every_n_seconds(sim: SimServer, http: aiohttp.ClientSession) -> None:
    await set_faults(http, sim, {"ws_drop_every_s": 0.3})
    started = time.perf_counter()
    async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
        msg = await ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert time.perf_counter() - started < 1.5
    await set_faults(http, sim, {"ws_drop_every_s": None})
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token_of(sim)], "type": "market"}))
        assert (await ws.receive(timeout=3)).type == aiohttp.WSMsgType.TEXT
        await asyncio.sleep(0.5)
        assert not ws.closed


async def test_websocket_silence_keeps_the_socket_open_but_quiet(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token_of(sim)], "type": "market"}))
        await ws.receive(timeout=3)
        await set_faults(http, sim, {"ws_silence_s": 1.0})
        leader_take(sim)
        await ws.send_str("PING")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.6)
        assert not ws.closed
        await asyncio.sleep(0.6)
        leader_take(sim)
        frame = json.loads((await ws.receive(timeout=3)).data)
        assert frame["event_type"] in ("price_change", "last_trade_price")


async def test_stale_books_freeze_rest_and_websocket(sim: SimServer, http: aiohttp.ClientSession) -> None:
    token = token_of(sim)

    async def book() -> dict[str, Any]:
        async with http.get(sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
            data: dict[str, Any] = await resp.json()
            return data

    await set_faults(http, sim, {"stale_books": True})
    frozen = await book()
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token], "type": "market"}))
        await ws.receive(timeout=3)
        leader_take(sim)
        frame = json.loads((await ws.receive(timeout=3)).data)
        assert frame["event_type"] == "last_trade_price"  # trades still print; books do not move
    assert await book() == frozen
    await set_faults(http, sim, {"stale_books": False})
    fresh = await book()
    assert frozen["last_trade_price"] == ""
    assert fresh["last_trade_price"] != ""
