"""A long-running simulator keeps a window of history: pruning drops old received orders, fills, trades
and finished orders, keeps what is open, and new records keep unique, increasing sequence numbers."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from polyhunter.sim.server_app import SimServer


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _trade(sim: SimServer, n: int) -> None:
    for _ in range(n):
        sim.runner.leader_trade()
    await sim.state.settle()


async def test_prune_keeps_a_window_and_what_is_open(http: aiohttp.ClientSession) -> None:
    async with SimServer(scenario="leaders", seed=5, port=0, leaders=2, markets=2, rate=0) as sim:
        state = sim.state
        await _trade(sim, 10)
        old_fills = len(state.fills)
        old_trades = len(state.engine.trades())
        assert old_fills > 0
        assert old_trades > 0
        await asyncio.sleep(0.05)
        cutoff = state.now_ms()
        await asyncio.sleep(0.05)
        await _trade(sim, 10)
        open_before = {o.order_id for o in state.engine.open_orders()}
        assert open_before
        dropped = state.prune_history(cutoff)
        assert dropped >= old_fills + old_trades
        assert all(r.timestamp_ms >= cutoff for r in state.fills)
        assert all(t.timestamp_ms >= cutoff for t in state.engine.trades())
        assert all(r.received_at_ms >= cutoff for r in state.received)
        assert {o.order_id for o in state.engine.open_orders()} == open_before  # makers' resting orders stay
        assert all(state.engine.order(order_id) is not None for order_id in open_before)
        kept = [r.seq for r in state.fills]
        await _trade(sim, 5)
        new = [r.seq for r in state.fills][len(kept) :]
        assert new
        assert min(new) > max(kept, default=-1)  # numbering continues: no reused sequence
        rows = await _get(http, sim.urls["data_api"] + "/trades", takerOnly="false", limit="500")
        assert rows
        assert len({(r["transactionHash"], r["proxyWallet"], r["asset"], r["size"]) for r in rows}) == len(
            rows
        )


async def test_the_server_prunes_on_its_own(http: aiohttp.ClientSession) -> None:
    async with SimServer(
        scenario="leaders", seed=6, port=0, leaders=2, markets=2, rate=0, history_retention_s=0.2
    ) as sim:
        await _trade(sim, 10)
        assert sim.state.fills
        await asyncio.sleep(5.5)  # the housekeeping loop prunes every 5 s
        assert not sim.state.fills
        assert not sim.state.engine.trades()
        assert (await _get(http, sim.urls["admin"] + "/scenario"))["leader_fills"] > 0
