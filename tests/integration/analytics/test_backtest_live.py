"""`polyhunter backtest --leader` against the simulator over real HTTP: a leader trades on the simulator
(the replay scenario publishes its fills; another wallet then moves the market), a market charges a fee
and another resolves; the backtest reads the leader's history, fee rates, outcomes and price history
from the simulator. With --latency 0 the copy fills at the leader's price; with a latency past the move
it pays the moved price: a different slippage. Bad input is one line, exit 2."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.history_gen import condition, token, trade_row, write_rows

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER = "0x" + "5e" * 20
NOBODY = "0x" + "77" * 20
COPY = """
sizing = "FIXED_USDC"
sizing_value = "10"
max_slippage_bps = 5000
starting_cash_usdc = "1000"
"""


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimServer]:
    t0 = 1_790_000_000
    rows = [
        trade_row(LEADER, 1, 0, "BUY", "100", "0.50", t0),  # market 1, fee 4 %
        trade_row(LEADER, 2, 0, "BUY", "40", "0.40", t0),  # market 2, resolves: token 0 wins
        trade_row(OTHER, 1, 0, "BUY", "300", "0.60", t0 + 2),  # market 1 moves up 2 s later
    ]
    history = write_rows(tmp_path / "history.json", rows)
    async with SimServer(ScenarioConfig(name="replay", seed=5, replay_file=history, speed=1.0), port=0) as s:
        yield s


async def _admin(sim: SimServer, path: str, body: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http, http.post(sim.urls["admin"] + path, json=body) as resp:
        assert resp.status == 200, await resp.text()


def _invoke(sim: SimServer, *args: str) -> tuple[int, str, str]:
    urls = [
        "--set",
        f"venue.clob_url={sim.urls['clob']}",
        "--set",
        f"venue.data_api_url={sim.urls['data_api']}",
    ]
    result = CliRunner().invoke(app, ["backtest", *args, *urls])
    return result.exit_code, result.stdout, result.stderr


async def test_backtest_leader_on_the_simulator(
    sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.upper().startswith("POLYHUNTER")]:
        monkeypatch.delenv(key)
    (tmp_path / "copy.toml").write_text(COPY)
    for _ in range(600):  # the three rows replayed (the last one 2 s after the first)
        if sim.runner.fills >= 3:
            break
        await asyncio.sleep(0.05)
    assert sim.runner.fills == 3
    moved_at = sim.state.fills_of(OTHER)[0].timestamp_s
    assert moved_at > sim.state.fills_of(LEADER)[0].timestamp_s  # the move is a later second
    await _admin(sim, "/fee-rate", {"condition_id": condition(1), "taker_fee_rate": "0.04"})
    await _admin(sim, "/resolve", {"condition_id": condition(2), "winning_token": token(2, 0)})
    today = datetime.now(UTC).date()
    window = ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1))]
    runs = {}
    for latency in ("0", "120000"):
        code, out, err = await asyncio.to_thread(
            _invoke,
            sim,
            "--leader",
            LEADER,
            "--config",
            "copy.toml",
            *window,
            "--latency",
            latency,
            "--json",
            "--copies",
        )
        assert code == 0, err
        runs[latency] = json.loads(out)
    (now,) = runs["0"]["followers"]
    (late,) = runs["120000"]["followers"]
    assert runs["0"]["mode"] == "live"
    # latency 0: both copies at the leader's prices (market 1: 20 @ 0.50, fee 0.04 x 20 x 0.25 = 0.2;
    # market 2: 25 @ 0.40, no fee, resolved: pays 25; realized 15 net of the 0.2 fee)
    assert now["copies"] == 2
    assert Decimal(now["slippage_vs_leader"]) == 0
    assert Decimal(now["fees"]) == Decimal("0.2")
    assert Decimal(now["realized_pnl"]) == Decimal("14.8")
    prices = {c["asset"]: Decimal(c["price"]) for c in now["copy_fills"]}
    assert prices == {token(1, 0): Decimal("0.5"), token(2, 0): Decimal("0.4")}
    # 120 s later market 1 stood at the moved price (the "now" point: the midpoint after the move),
    # and market 2 had resolved at 1: past any budget
    assert late["copies"] == 1
    assert late["skipped"] == {"SLIPPAGE_EXCEEDED": 1}
    (fill,) = late["copy_fills"]
    assert fill["asset"] == token(1, 0)
    assert Decimal(fill["price"]) > Decimal("0.5")
    assert Decimal(late["slippage_vs_leader"]) == Decimal(fill["shares"]) * (
        Decimal(fill["price"]) - Decimal("0.5")
    )
    assert Decimal(late["slippage_vs_leader"]) > 0
    assert Decimal(late["fees"]) > 0
    assert any("price history" in n for n in runs["120000"]["notes"])


async def test_backtest_leader_bad_input_is_one_line(
    sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.upper().startswith("POLYHUNTER")]:
        monkeypatch.delenv(key)
    (tmp_path / "copy.toml").write_text(COPY)
    (tmp_path / "bad.toml").write_text('name = "x"\n')
    base = ["--config", "copy.toml"]
    cases = [
        (["--leader", NOBODY, *base], "the Data API has no trade of this wallet"),
        (["--leader", "0x123", *base], "--leader '0x123': must be an address"),
        (["--leader", LEADER, *base, "--from", "yesterday"], "--from 'yesterday': expected a date"),
        (["--leader", LEADER, *base, "--from", "2026-09-02", "--to", "2026-09-01"], "is not before --to"),
        (["--leader", LEADER, *base, "--latency", "-5"], "--latency -5: expected milliseconds"),
        (["--leader", LEADER, "--config", "bad.toml"], "expected a run file ([[followers]]"),
        (["--config", "copy.toml"], "give either --history FILE (offline) or --leader ADDRESS"),
    ]
    for args, message in cases:
        code, _, err = await asyncio.to_thread(_invoke, sim, *args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1, err
        assert message in err, err
