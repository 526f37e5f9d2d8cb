"""`polyhunter demo --duration 60 --json` end to end in a subprocess, as a newcomer runs it (the
README's `make demo` runs the same command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.sim.anvil import AnvilError, anvil_path
from polyhunter.sim.chain_build import ChainBuildError, solcjs_path

pytestmark = pytest.mark.integration


def _chain_tools() -> bool:
    try:
        anvil_path()
        solcjs_path()
    except (AnvilError, ChainBuildError):
        return False
    return True


def test_demo_json_summary(tmp_path: Path) -> None:
    env = {**os.environ, "POLYHUNTER__LOGGING__LEVEL": "INFO"}
    env.pop("POLYHUNTER_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "polyhunter.cli", "demo", "--duration", "60", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)  # stdout is the JSON summary, nothing else
    assert "alembic" not in proc.stderr  # a new demo database's migrations are not news
    assert summary["signals"] > 5
    copies = summary["copies"]
    assert copies.get("EXECUTED", 0) > 0
    assert "PENDING" not in copies, copies  # every copy ends terminal
    followers = {"demo-paper": "paper", "demo-wallet": "own wallet"}
    if _chain_tools():  # the PROXY follower runs on anvil: its copies settled, its ledger, no debt
        followers["demo-proxy"] = "proxy"
        ledger = summary["proxy"]["demo-proxy"]
        assert ledger["settled"] > 0, ledger
        assert Decimal(ledger["reimbursed"]) > 0
        assert Decimal(ledger["commission"]) > 0
        assert Decimal(ledger["open_debt"]) == 0
        # the DIRECT follower: its proxy made its own orders, the exchange settled them; only the
        # commission was settled (nothing reimbursed, no proceeds through a worker)
        followers["demo-direct"] = "proxy"
        direct = summary["proxy"]["demo-direct"]
        assert direct["mode"] == "DIRECT", direct
        assert direct["copies"] > 0, direct
        assert direct["settled"] > 0, direct
        assert Decimal(direct["commission"]) > 0
        assert Decimal(direct["reimbursed"]) == Decimal(direct["proceeds"]) == 0
        assert Decimal(direct["open_debt"]) == 0
        assert "proxy_note" not in summary
    else:
        assert summary["proxy"] == {}
        assert summary["proxy_note"].startswith("not run: no chain tools"), summary["proxy_note"]
    assert set(summary["pnl_usdc"]) == set(followers)
    assert summary["followers"] == followers
    latency = summary["signal_to_submit_ms"]
    assert latency["count"] >= copies["EXECUTED"]  # one per order sent (a FOK chase sends more)
    assert 0 < latency["p50"] <= latency["p99"]
    assert summary["ingest"]["ws"]["accepted"] > 0
    assert 55 <= summary["duration_s"] <= 120
    assert sum(copies.values()) == sum(
        n for key, n in summary["copies_by_reason"].items() if key.startswith("SKIPPED:")
    ) + sum(n for state, n in copies.items() if state != "SKIPPED")  # every SKIPPED copy has its reason
    assert isinstance(summary["mean_slippage_ticks"], float)
    assert all(Decimal(v).is_finite() for v in summary["pnl_usdc"].values())  # decimal strings
    assert (tmp_path / "var" / "demo").is_dir()
