"""Issue 19: a backtest of a recorded history file agrees with a paper run of the same fills on the
simulator, within one tick of slippage per copy.

The file (one leader, two markets: BUYs, a full exit, the other outcome, a price past the config's bound) is replayed by the simulator at 5x (two seconds between fills: the engine reads each copy's book
after the makers moved to that fill's price; compressed further, a copy can be priced on the book of
the fill before, which is not what the comparison is about) (``replay`` scenario, in this process so the test starts it once
`polyhunter run` listens) to `polyhunter run` with a PAPER follower, whose copies fill against the
simulator's books; the same file goes through `polyhunter backtest --json --copies`. Both must copy
the same fills (same signal keys), skip the same ones for the same reasons, with the same shares and
prices at most one tick apart.

The exit is a full one: the simulator's replay publishes the leader's fills without moving its
``/positions``, which the live engine reads for the leader's position before a SELL, so a partial sell
of a replayed leader looks like a full exit to it. The backtest takes that position from the history
(partial mirroring is unit-tested in ``tests/unit/analytics/test_backtest.py``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.cli_runs import run_env, start_run, wait_until
from tests.support.history_gen import T0, trade_row, write_rows
from tests.support.processes import stop_process
from tests.support.sim_stack import rows

pytestmark = pytest.mark.integration

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
TICK = Decimal("0.01")
MICRO = Decimal(1_000_000)
RUN = f"""
[[followers]]
name = "paper"
custody = "PAPER"
starting_cash_usdc = "1000"
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "FIXED_USDC"
  sizing_value = "10"
  max_slippage_bps = 1000
  max_price = "0.85"
"""
FILLS = [  # market, outcome, side, size, price, seconds after T0
    (1, 0, "BUY", "100", "0.50", 0),
    (2, 0, "BUY", "60", "0.35", 10),
    (1, 0, "BUY", "40", "0.52", 20),
    (1, 0, "SELL", "140", "0.55", 30),  # the leader's whole position: the follower sells all of its own
    (2, 1, "BUY", "30", "0.62", 40),
    (1, 0, "BUY", "10", "0.90", 50),  # past max_price: skipped by both
]


def _history(tmp: Path) -> Path:
    history = [trade_row(LEADER, n, i, side, size, price, T0 + dt) for n, i, side, size, price, dt in FILLS]
    return write_rows(tmp / "history.json", list(reversed(history)))  # newest first, as the Data API lists


def _backtest(history: Path, run_toml: Path, cwd: Path) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "polyhunter.cli",
            "backtest",
            "--history",
            str(history),
            "--config",
            str(run_toml),
        ]
        + ["--json", "--copies", "--no-progress"],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=True,
    )
    (follower,) = json.loads(out.stdout)["followers"]
    return dict(follower)


async def test_backtest_agrees_with_a_paper_run_on_the_simulator(tmp_path: Path) -> None:
    history = _history(tmp_path)
    run_toml = tmp_path / "run.toml"
    run_toml.write_text(RUN)
    db = tmp_path / "run.db"
    config = ScenarioConfig(name="replay", seed=19, replay_file=history, speed=5.0, replay_delay_s=600)
    async with SimServer(config, port=0) as sim:
        # every copy reads the book as the replay left it (no quote cached from the fill before)
        env = run_env(sim.urls, db, {"engine.quote_cache_ttl_ms": 0})
        proc = await asyncio.to_thread(
            start_run, ["--config", str(run_toml)], env, tmp_path / "run.log", tmp_path
        )
        try:
            sim.runner.begin_replay()

            def settled() -> bool:
                done = rows(db, "SELECT count(*) AS n FROM copy_trades WHERE state != 'PENDING'")
                return int(done[0]["n"]) == len(FILLS)

            await asyncio.to_thread(wait_until, "every replayed fill's copy settled", settled, proc, 90, 0.2)
        finally:
            await asyncio.to_thread(stop_process, proc)
    paper = rows(
        db,
        "SELECT signal_key, state, reason, side, filled_size_micro, filled_price_micro FROM copy_trades",
    )
    backtest = _backtest(history, run_toml, tmp_path)

    executed = {r["signal_key"]: r for r in paper if r["state"] == "EXECUTED"}
    copies = {c["signal_key"]: c for c in backtest["copy_fills"]}
    assert set(copies) == set(executed), (paper, backtest)
    assert len(copies) == 5
    deltas = []
    for key, c in copies.items():
        run = executed[key]
        assert Decimal(c["shares"]) == Decimal(run["filled_size_micro"]) / MICRO, (c, run)
        deltas.append(Decimal(c["price"]) - Decimal(run["filled_price_micro"]) / MICRO)
    assert all(abs(d) <= TICK for d in deltas), deltas
    print("backtest - paper price per copy:", [str(d) for d in deltas])  # noqa: T201 - shown with -s
    skipped = Counter(str(r["reason"]) for r in paper if r["state"] == "SKIPPED")
    assert skipped == Counter(backtest["skipped"]) == Counter({"PRICE_OUT_OF_BOUNDS": 1})
