"""Scenario order flow over time, observed from outside: ``quiet`` keeps its depth and never trades,
``leaders`` trades at the configured rate with the documented size and price shape, and ``replay``
compresses the recorded time by ``speed``."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES

SUBSCRIBE_TRADES = json.dumps(
    {"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}]}
)


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_quiet_keeps_depth_and_nobody_takes(http: aiohttp.ClientSession) -> None:
    async with SimServer(scenario="quiet", seed=8, port=0, refresh_s=0.25) as sim:
        scenario = await _get(http, sim.urls["admin"] + "/scenario")
        tokens = [t for m in scenario["markets"] for t in m["tokens"]]
        assert scenario["leaders"] == []

        async def books() -> list[tuple[list[Any], list[Any]]]:
            out = []
            for token in tokens:
                book = await _get(http, sim.urls["clob"] + "/book", token_id=token)
                out.append((book["bids"], book["asks"]))
            return out

        first = await books()
        async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
            await ws.send_str(SUBSCRIBE_TRADES)
            for _ in range(5):  # 2.5 s: ten maker refresh cycles
                with pytest.raises(asyncio.TimeoutError):
                    await ws.receive(timeout=0.5)  # not one fill on the firehose
                assert await books() == first  # every level still there, same prices and sizes
        assert all(len(bids) == len(asks) == 5 for bids, asks in first)  # the maker ladder, both sides
        assert await _get(http, sim.urls["data_api"] + "/trades", takerOnly="false") == []
        async with http.get(sim.urls["clob"] + "/last-trade-price", params={"token_id": tokens[0]}) as resp:
            assert await resp.json() == {"price": "0.5", "side": ""}  # never traded
        assert (await _get(http, sim.urls["admin"] + "/scenario"))["leader_fills"] == 0


async def test_leaders_trade_at_the_rate_with_the_documented_shape(http: aiohttp.ClientSession) -> None:
    rate, window_s = 15.0, 2.5
    async with SimServer(
        scenario="leaders", seed=12, port=0, leaders=3, markets=3, rate=rate, mined_delay_s=0.01
    ) as sim:
        started = time.perf_counter()
        await asyncio.sleep(window_s)
        fills, elapsed = sim.runner.fills, time.perf_counter() - started
        scenario = await _get(http, sim.urls["admin"] + "/scenario")
        await sim.state.settle()
        rows = await _get(http, sim.urls["data_api"] + "/trades", limit="10000")
        fair = {cid: maker.fair for cid, maker in sim.runner.makers.items()}
        ticks = {i.condition_id: i.market.tick_size for i in sim.state.catalog}
        first_token = {i.condition_id: i.market.tokens[0] for i in sim.state.catalog}
    assert rate / 2 <= fills / elapsed <= rate * 2, f"{fills} fills in {elapsed:.2f} s at rate {rate}"
    leaders = {x["address"] for x in scenario["leaders"]}
    assert len(leaders) == 3
    assert {r["proxyWallet"] for r in rows} <= leaders  # takerOnly: the leaders' own fills
    assert len(rows) >= fills  # every fill so far, plus the ones matched while the window closed
    sizes = [Decimal(str(r["size"])) for r in rows]
    assert all(0 < s <= 5000 for s in sizes)  # log-normal sizes clamped to [5, 5000] shares
    assert 16 <= statistics.median(sizes) <= 100  # the distribution's median is 40 shares
    assert len(set(sizes)) > len(sizes) / 2  # drawn, not constant
    buys = sum(r["side"] == "BUY" for r in rows)
    assert buys > len(rows) / 2  # mostly BUYs; SELLs only of what a leader holds
    for r in rows:  # FAK two ticks through the touch: fills print on the makers' ladder
        centre = (
            fair[r["conditionId"]]
            if r["asset"] == first_token[r["conditionId"]]
            else 1 - fair[r["conditionId"]]
        )
        levels = abs(Decimal(str(r["price"])) - centre) / ticks[r["conditionId"]]
        assert 1 <= levels <= 5, r  # never inside the spread, never past the 5-level ladder


async def test_replay_compresses_recorded_time_by_speed(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    template = json.loads((FIXTURES / "http" / "data_api_trades_mixed.json").read_text())
    offsets = [0, 30, 120, 180, 300]  # recorded seconds: gaps 30, 90, 60, 120
    t0 = 1_729_000_000
    rows = [
        {**template[i % len(template)], "timestamp": t0 + off, "transactionHash": f"0x{i + 1:064x}"}
        for i, off in enumerate(offsets)
    ]
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(rows))
    speed = 150.0
    config = ScenarioConfig(name="replay", seed=3, replay_file=replay, speed=speed, replay_delay_s=0.5)
    # the first row replays after replay_delay_s: time enough to subscribe
    async with SimServer(config, port=0) as sim:
        async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
            await ws.send_str(SUBSCRIBE_TRADES)
            first_seen: dict[str, int] = {}
            while len(first_seen) < len(rows):
                frame = json.loads((await ws.receive(timeout=5)).data)
                first_seen.setdefault(frame["payload"]["transactionHash"], frame["timestamp"])
        assert (sim.runner.fills, sim.runner.skipped) == (len(rows), 0)
    printed = sorted(first_seen.values())  # ms, one per replayed fill (each is one transaction)
    observed = [(b - a) / 1000 for a, b in zip(printed, printed[1:], strict=False)]
    expected = [(b - a) / speed for a, b in zip(offsets, offsets[1:], strict=False)]
    assert observed == pytest.approx(expected, abs=0.08), (observed, expected)
    assert (printed[-1] - printed[0]) / 1000 == pytest.approx(offsets[-1] / speed, abs=0.1)
