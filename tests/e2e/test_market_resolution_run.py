"""`polyhunter run` against `polyhunter sim` whose market resolves mid-run (the admin API, once the
follower holds it; holders redeem for themselves): the running program notices (market channel and
market records), redeems the paper follower's position once, and the `--json` summary after SIGTERM
shows the redeemed market and its realized PnL (as stored).

The simulator and the engine run as processes of their own, each in a new session."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.sim_stack import rows, sim_env

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "polyhunter.cli"]
DEADLINE_S = 150


def _leaders(admin: str) -> list[str]:
    with urllib.request.urlopen(admin + "/scenario", timeout=30) as resp:  # noqa: S310 - the local simulator
        return [leader["address"] for leader in json.loads(resp.read())["leaders"]]


@pytest.mark.timeout(300)
def test_a_market_resolved_mid_run_is_redeemed_and_summarized(tmp_path: Path) -> None:
    sim_cmd = [*CLI, "sim", "--port", "0", "--scenario", "leaders", "--seed", "5", "--rate", "4"]
    sim_cmd += ["--markets", "1"]
    with (tmp_path / "sim.log").open("wb") as sim_log:
        sim = subprocess.Popen(sim_cmd, stdout=subprocess.PIPE, stderr=sim_log, start_new_session=True)  # noqa: S603
        try:
            assert sim.stdout is not None
            urls = json.loads(sim.stdout.readline())
            copies = "".join(
                f'[[followers.copies]]\nleader = "{x}"\nsizing = "FIXED_USDC"\nsizing_value = "2"\n'
                for x in _leaders(urls["admin"])
            )
            run_file = tmp_path / "run.toml"
            run_file.write_text('[[followers]]\nname = "paper"\ncustody = "PAPER"\n' + copies)
            db, log = tmp_path / "run.db", tmp_path / "run.log"
            env = sim_env(urls, f"sqlite+aiosqlite:///{db}", INGEST__MARKET_STATUS_INTERVAL_S="2")
            with log.open("wb") as err:
                run = subprocess.Popen(  # noqa: S603 - our own CLI
                    [*CLI, "run", "--config", str(run_file), "--json"],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    start_new_session=True,
                )
                try:
                    deadline = time.monotonic() + DEADLINE_S
                    held = "SELECT count(*) AS n FROM copy_trades WHERE state = 'EXECUTED'"
                    while not db.exists() or not _ready(db) or int(rows(db, held)[0]["n"]) < 2:
                        assert run.poll() is None, log.read_text()[-3000:]
                        assert time.monotonic() < deadline, f"nothing copied; see {log}"
                        time.sleep(0.5)
                    _resolve(urls["admin"])
                    query = "SELECT count(*) AS n FROM redemptions WHERE state = 'REDEEMED'"
                    while not db.exists() or not _ready(db) or int(rows(db, query)[0]["n"]) < 1:
                        assert run.poll() is None, log.read_text()[-3000:]
                        assert time.monotonic() < deadline, f"nothing redeemed; see {log}"
                        time.sleep(0.5)
                    run.send_signal(signal.SIGTERM)
                    out, _ = run.communicate(timeout=180)
                finally:
                    if run.poll() is None:
                        run.kill()
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=120)
    assert run.returncode == 0, log.read_text()[-3000:]
    (redeemed,) = rows(db, "SELECT * FROM redemptions")
    assert redeemed["state"] == "REDEEMED"
    pnl = (
        redeemed["payout_micro"] + redeemed["sold_micro"] - redeemed["bought_micro"] - redeemed["fees_micro"]
    )
    assert redeemed["realized_pnl_micro"] == pnl
    summary = json.loads(out)
    realized = summary["realized_usdc"]["paper"]
    assert realized["redeemed_markets"] == 1
    assert Decimal(realized["realized_pnl"]) * 1_000_000 == redeemed["realized_pnl_micro"]
    # the daily PnL series (written on the timer and at the clean stop) adds up to the same, within a
    # base unit per config row (each row is rounded to the base unit); fees are the copies' fees
    series = rows(db, "SELECT * FROM pnl_daily")
    assert series, "no daily PnL rows"
    configs = {r["config_id"] for r in series}
    total = sum(r["realized_micro"] for r in series)
    assert abs(total - redeemed["realized_pnl_micro"]) <= len(series), (total, redeemed)
    assert sum(r["fees_micro"] for r in series) == redeemed["fees_micro"]
    assert all(
        r["unrealized_micro"] == 0 and r["invested_micro"] == 0
        for r in series
        if r["day"] == max(x["day"] for x in series)
    ), series  # the one market is redeemed: nothing open at the last day's end
    today = summary["pnl_today_usdc"]["paper"]
    if len({r["day"] for r in series}) == 1:  # (a run across midnight UTC splits it over two days)
        assert abs(Decimal(today["realized"]) * 1_000_000 - total) <= len(configs)
        assert Decimal(today["fees"]) * 1_000_000 == redeemed["fees_micro"]


def _resolve(admin: str) -> None:
    with urllib.request.urlopen(admin + "/scenario", timeout=30) as resp:  # noqa: S310 - the local simulator
        market = json.loads(resp.read())["markets"][0]
    body = {
        "condition_id": market["condition_id"],
        "winning_token": market["tokens"][0],
        "auto_redeem": False,
    }
    request = urllib.request.Request(  # noqa: S310
        admin + "/resolve", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
        assert resp.status == 200


def _ready(db: Path) -> bool:
    tables = rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'redemptions'")
    return bool(tables)
