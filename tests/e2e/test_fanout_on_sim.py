"""End to end on the simulator: ~500 leader fills, each met by 20 configs (paper and own-wallet).

The simulator runs in process (`leaders` scenario at a high rate); one Supervisor (SQLite file,
in-memory coordination) ingests the fills over RTDS + Data API polling and copies them. The test
then computes, on its own, the copy rows that must exist and the filter outcomes the configs decide,
and checks the simulator's record of every order it received against the `orders` table.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.server_app import SimServer
from tests.support.copy_checks import (
    ConfigView,
    check_copy_set,
    check_sizes,
    check_slippage,
    check_venue_orders,
)
from tests.support.fill_ledger import compare, fill_id, row_id
from tests.support.sim_stack import admin, follower_key, fund, quiesce, rows, sim_settings

pytestmark = pytest.mark.integration

TARGET_FILLS = 500
SEED = 23
TTL_S = 3


def _specs(markets: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Twenty followers (ten PAPER, ten EOA), each copying both leaders: every signal meets twenty
    configs (forty in all). The second ten repeat the first ten's rules at twice the size."""
    for custody, params in _base_specs(markets):
        yield custody, params
    for custody, params in _base_specs(markets):
        yield custody, {**params, "sizing_value": params["sizing_value"] * 2}


def _base_specs(markets: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "PAPER", {"sizing": "FIXED_USDC", "sizing_value": Decimal(5)}
    yield "EOA", {"sizing": "FIXED_USDC", "sizing_value": Decimal(3), "sides": ["BUY"]}
    yield "PAPER", {"sizing": "PERCENT_OF_LEADER", "sizing_value": Decimal(10), "max_trade_usdc": Decimal(20)}
    yield (
        "EOA",
        {
            "sizing": "MULTIPLIER",
            "sizing_value": Decimal("0.1"),
            "min_price": Decimal("0.35"),
            "max_price": Decimal("0.65"),
        },
    )
    yield "PAPER", {"sizing": "MULTIPLIER", "sizing_value": Decimal("0.5"), "sides": ["SELL"]}
    yield "EOA", {"sizing": "PERCENT_OF_LEADER", "sizing_value": Decimal(5), "deny_markets": markets[:2]}
    yield (
        "PAPER",
        {
            "sizing": "FIXED_USDC",
            "sizing_value": Decimal(2),
            "aggregate_below_minimum": False,
            "min_price": Decimal("0.2"),
            "max_price": Decimal("0.8"),
        },
    )
    yield "EOA", {"sizing": "FIXED_USDC", "sizing_value": Decimal(8), "max_slippage_bps": 50}
    yield "PAPER", {"sizing": "FIXED_USDC", "sizing_value": Decimal("0.5")}
    yield (
        "EOA",
        {
            "sizing": "MULTIPLIER",
            "sizing_value": Decimal("0.2"),
            "max_trade_usdc": Decimal(10),
            "sides": ["BUY"],
            "max_price": Decimal("0.5"),
        },
    )


def _run_file(leaders: list[str], markets: list[str]) -> tuple[RunFile, list[str]]:
    followers, eoa_addresses = [], []
    for i, (custody, params) in enumerate(_specs(markets)):
        key = None
        if custody == "EOA":
            secret, address = follower_key("fanout", i)
            key = SecretStr(secret)
            eoa_addresses.append(address)
        copies = [CopySpec(leader=leader, **params) for leader in leaders]
        followers.append(FollowerSpec(name=f"f{i}", custody=custody, private_key=key, copies=copies))
    return RunFile(followers=followers), eoa_addresses


def _views(sup: Supervisor) -> list[ConfigView]:
    out = []
    for f in sup.followers:
        for spec, config_id in zip(f.spec.copies, f.config_ids, strict=True):
            out.append(
                ConfigView(
                    config_id,
                    spec.leader,
                    frozenset(str(s) for s in spec.sides),
                    frozenset(m.lower() for m in spec.deny_markets),
                    spec.min_price,
                    spec.max_price,
                    spec.max_slippage_bps if spec.max_slippage_bps is not None else 200,
                    str(spec.sizing),
                    spec.sizing_value,
                    spec.min_trade_usdc,
                    spec.max_trade_usdc,
                )
            )
    return out


async def _copy_until(sim: SimServer, sup: Supervisor, db_path: Path) -> float:
    """Run the supervisor until the simulator made TARGET_FILLS leader fills and the engine went quiet;
    stop it, then sweep what is left once the TTL passed. Returns the seconds of leader flow."""
    started = time.monotonic()
    runner = asyncio.create_task(sup.run(600, stop_after=False))
    while sim.runner.fills < TARGET_FILLS:
        assert not runner.done(), runner
        await asyncio.sleep(0.2)
    await sim.runner.stop()  # no more leader fills
    flow_s = time.monotonic() - started
    await quiesce(db_path, quiet_s=3.0, limit_s=120)
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    await asyncio.sleep(TTL_S + 0.5)
    while await sup.sweeper.sweep_once():
        pass
    return flow_s


async def test_500_signals_x_20_configs(tmp_path: Path) -> None:
    started = time.monotonic()
    db_path = tmp_path / "fanout.db"
    async with (
        SimServer("leaders", SEED, 0, leaders=2, markets=6, rate=40) as sim,
        aiohttp.ClientSession() as http,
    ):
        scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
        leaders = [leader["address"].lower() for leader in scenario["leaders"]]
        run_file, eoa = _run_file(leaders, [m["condition_id"] for m in scenario["markets"]])
        for address in eoa:
            await fund(http, sim.urls["admin"], address, Decimal(50_000))
        settings = sim_settings(
            sim.urls,
            db_path,
            engine={"pending_ttl_s": TTL_S, "expiry_scan_interval_ms": 500},
            guardrails={"daily_user_cap_usdc": Decimal(10**6), "global_daily_cap_usdc": Decimal(10**7)},
        )
        sup = Supervisor(settings, run_file, serve_api=False)
        followed_from_ms = int(time.time() * 1000)  # leaders are followed from the supervisor's start
        await sup.start()
        try:
            assert len(_views(sup)) == 40  # 20 per leader
            flow_s = await _copy_until(sim, sup, db_path)
            received = await admin(http, sim.urls["admin"], "GET", "/orders")
        finally:
            await sup.stop()
    signals = rows(db_path, "SELECT count(*) AS n FROM signals")[0]["n"]
    ledger = compare(
        sim.state.fills,
        [
            (
                fill_id(r["tx_hash"], r["leader"], r["asset"], r["side"], Decimal(r["size_micro"]) / 10**6),
                r["source"],
            )
            for r in rows(db_path, "SELECT tx_hash, leader, asset, side, size_micro, source FROM signals")
        ],
        leaders=leaders,
        expected_from_ms=followed_from_ms,
    )
    states = check_copy_set(db_path, _views(sup))
    venue = check_venue_orders(received, db_path, eoa)
    within_budget = check_slippage(db_path, _views(sup))
    sizes = check_sizes(db_path, _views(sup))
    failed = rows(
        db_path, "SELECT reason, error, count(*) AS n FROM copy_trades WHERE state = 'FAILED' GROUP BY 1, 2"
    )
    print(  # noqa: T201 - the test reports its measured numbers
        f"\nfanout e2e: leader fills {sim.runner.fills}, signals {signals} {ledger.summary()}, copies {sum(states.values())} "
        f"{states}, failed {failed}, within slippage budget {within_budget}, sizes checked {sizes}, venue {venue}, sweeper {sup.sweeper.stats}, flow {flow_s:.1f}s, "
        f"total {time.monotonic() - started:.1f}s"
    )
    # Every fill of a followed leader the simulator made since the supervisor started became exactly one
    # signal (the simulator's own record, not the engine's table, says which fills exist).
    assert ledger.expected >= TARGET_FILLS
    fills_by_id = {row_id(f): f for f in sim.state.fills}
    assert ledger.summary()["lost"] == 0, [
        (fills_by_id[x].timestamp_ms - followed_from_ms, fills_by_id[x].is_taker) for x in ledger.lost
    ]
    assert ledger.duplicates == {}
    assert ledger.phantoms == []
    assert states.get("EXECUTED", 0) > 0
    # No faults and no crash: nothing may be left to expire. Copies parked for aggregation (window 60 s)
    # outlive the 3 s TTL here; the sweeper must leave them to the engine.
    assert states.get("EXPIRED", 0) == 0
    assert venue["matched"] > 0
