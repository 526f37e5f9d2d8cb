"""A supervisor with all four sources against the simulator with live-like timing on anvil: a leader's fill is
seen pending in the mempool; a pending match that is dropped before its block is retracted and a config with
``act_on = "confirmed"`` never copies it, while one that is mined is copied by both configs (the confirmed one
at its block), each fill recorded once under one key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.domain.copy_config import ActOn
from polyhunter.domain.signal import Side, SourceKind
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.server_app import SimServer
from polyhunter.sim.timing import SimTiming
from tests.support.engine_rig import sim_trade
from tests.support.sim_stack import rows, sim_settings

pytestmark = pytest.mark.integration

LEADER = "0x" + "ab" * 20
# live-like, compressed: 1 s blocks, RTDS 0.3 s / 0.6 s after the block, the Data API 2 s after it
TIMING = SimTiming(
    name="live", block_time_s=1.0, confirmed_delay_s=2.0, rtds_p50_s=0.3, rtds_p99_s=0.6, data_api_lag_s=2.0
)


def _leader_buys(sim: SimServer) -> None:
    info = sim.state.catalog[0]
    token = info.market.tokens[0]
    _, ask = sim.state.engine.best_bid_ask(token)
    assert ask is not None
    sim_trade(sim, LEADER, token, Side.BUY, Decimal(20), ask)


async def _until(check: Callable[[], Any], limit_s: float = 60) -> Any:
    async with asyncio.timeout(limit_s):
        while not (found := check()):  # noqa: ASYNC110 - polls a database / counters, no event to wait on
            await asyncio.sleep(0.2)
    return found


async def test_dropped_pending_fill_is_retracted_and_never_copied_on_confirmation(
    anvil_url: str, tmp_path: Path
) -> None:
    eager = CopySpec(leader=LEADER, sizing="FIXED_USDC", sizing_value=Decimal(3), act_on=ActOn.PENDING)
    careful = CopySpec(leader=LEADER, sizing="FIXED_USDC", sizing_value=Decimal(3))  # act_on "confirmed"
    run = RunFile(
        followers=[
            FollowerSpec(name="eager", custody="PAPER", copies=[eager]),
            FollowerSpec(name="careful", custody="PAPER", copies=[careful]),
        ]
    )
    db = tmp_path / "mempool.db"
    async with SimServer("quiet", 7, 0, markets=2, chain_rpc=anvil_url, chain_id=31337, timing=TIMING) as sim:
        sim.state.fund_collateral(LEADER, 10_000_000_000)
        assert sim.mirror_address is not None
        settings = sim_settings(
            sim.urls,
            db,
            venue={"chain_rpc_url": anvil_url, "chain_id": 31337},
            ingest={
                "mode": "HYBRID",
                "chain_in_hybrid": True,
                "chain_exchange_addresses": [sim.mirror_address],
                "mempool_url": anvil_url.replace("http://", "ws://"),
                "mempool_poll_interval_ms": 50,
                "chain_poll_interval_ms": 200,
            },
        )
        stop = asyncio.Event()
        sup = Supervisor(settings, run, serve_api=False)
        await sup.start()
        running = asyncio.create_task(sup.run(stop=stop, stop_after=False))
        try:
            ingest = sup.app.ingest
            assert set(ingest.sources) == {
                SourceKind.WS,
                SourceKind.POLL,
                SourceKind.CHAIN,
                SourceKind.MEMPOOL,
            }
            await _until(lambda: ingest.mempool is not None and ingest.mempool.health.value == "HEALTHY")

            # a match whose settlement transaction is replaced before its block
            sim.faults.apply({"drop_pending_next": 1})
            _leader_buys(sim)
            [dropped] = await _until(lambda: rows(db, "SELECT * FROM signals WHERE retracted_at IS NOT NULL"))
            assert dropped["source"] == "mempool"
            assert dropped["retract_reason"] == "pending_dropped"

            # a match that is mined
            _leader_buys(sim)
            mined_key = await _until(
                lambda: next(
                    (r["key"] for r in rows(db, "SELECT key FROM signals") if r["key"] != dropped["key"]),
                    None,
                )
            )
            copies_of = (
                "SELECT u.username, t.state FROM copy_trades t JOIN copy_configs c ON c.id = t.config_id "
            )
            copies_of += "JOIN users u ON u.id = c.user_id WHERE t.signal_key = '{}' ORDER BY u.username"
            mined = await _until(lambda: len(r := rows(db, copies_of.format(mined_key))) == 2 and r)
            assert [r["username"] for r in mined] == ["careful", "eager"]  # careful: once mined
            # the mined fill reached RTDS, the chain and the poller too: duplicates of the mempool's key
            stats = ingest.dedup.stats.late_by_winner
            await _until(
                lambda: all(
                    stats.get((late, SourceKind.MEMPOOL), 0) >= 1
                    for late in (SourceKind.WS, SourceKind.CHAIN, SourceKind.POLL)
                ),
                limit_s=30,
            )
            # by now the dropped fill's block is long past: only the eager config copied it, ever
            assert [r["username"] for r in rows(db, copies_of.format(dropped["key"]))] == ["eager"]
            assert len(rows(db, "SELECT key FROM signals")) == 2
            provisional = sup.app.engine.provisional.stats
            assert (provisional.confirmed, provisional.retracted) == (1, 1)
            assert ingest.metrics.source(SourceKind.MEMPOOL).confirmed == 1
            assert ingest.metrics.source(SourceKind.MEMPOOL).retracted == 1
        finally:
            stop.set()
            await running
            await sup.stop()
