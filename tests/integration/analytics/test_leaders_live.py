"""`polyhunter leaders rank LEADER` without a file reads the leader's history from the Data API: here
the simulator's, after it replayed a recorded file (same fills as the file gives `--from-file`)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.history_gen import synthetic_rows, write_rows

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER = "0x" + "5e" * 20


def _rank(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["leaders", "rank", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


async def test_rank_from_the_data_api_matches_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.upper().startswith("POLYHUNTER")]:
        monkeypatch.delenv(key)
    rows = [
        r
        for r in synthetic_rows([LEADER, OTHER], markets=3, trades_per_market=6, gap_s=5)
        if r["type"] == "TRADE"
    ]
    history = write_rows(tmp_path / "history.json", rows)
    config = ScenarioConfig(name="replay", seed=3, replay_file=history, speed=1000.0)
    async with SimServer(config, port=0) as sim:
        for _ in range(400):
            if sim.runner.fills >= len(rows):
                break
            await asyncio.sleep(0.05)
        assert sim.runner.fills == len(rows)
        live = await asyncio.to_thread(_rank, LEADER, "--set", f"venue.data_api_url={sim.urls['data_api']}")
    (stats,) = live["leaders"]
    (recorded,) = _rank(LEADER, "--from-file", str(history))["leaders"]
    assert stats["leader"] == LEADER
    assert stats["fills"] == recorded["fills"] == sum(1 for r in rows if r["proxyWallet"] == LEADER)
    same = ("markets", "volume", "bought", "realized_pnl", "open_positions", "unmatched_sells")
    assert {k: stats[k] for k in same} == {k: recorded[k] for k in same}
