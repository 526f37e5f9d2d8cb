"""SIGTERM on `polyhunter run` while copies flow: intake stops, copies in flight get their venue answers
(or, cut off at the grace, stay PENDING for the sweep), clients close, exit 0, and the log says what was
drained. A restarted run's sweep settles whatever a cut-off left PENDING. A second signal during the
drain exits at once, non-zero.

The simulator (`leaders` scenario) and the engine run as processes of their own, each in a new session
(so the test also works from a background job, whose children ignore SIGINT).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from polyhunter.secretbox import generate_master_key
from tests.support.cli_runs import admin, run_env, sim_process, start_run
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

TTL_S = 2
SCAN_MS = 500
MASTER_KEY = generate_master_key()

RUN_FILE = """
[[followers]]
name = "wallet"
custody = "EOA"
private_key_env = "DRAIN_KEY"
{copies}

[[followers]]
name = "paper"
custody = "PAPER"
{copies}
"""
COPY = '[[followers.copies]]\nleader = "{leader}"\nsizing = "FIXED_USDC"\nsizing_value = "2"\n'


def _sim(tmp: Path) -> AbstractContextManager[dict[str, str]]:
    return sim_process(tmp, "--scenario", "leaders", "--seed", "11", "--rate", "4")


def _env(urls: dict[str, str], db: Path, key: str, **engine: str) -> dict[str, str]:
    settings: dict[str, object] = {
        "ingest.poll_interval_ms": 1000,
        "engine.pending_ttl_s": TTL_S,
        "engine.expiry_scan_interval_ms": SCAN_MS,
        "engine.aggregation_window_ms": 2000,
        "secrets.master_key": MASTER_KEY,  # the same across restarts
        "logging.level": "INFO",
        "logging.format": "json",
        **{f"engine.{k}": v for k, v in engine.items()},
    }
    return run_env(urls, db, settings, {"DRAIN_KEY": key})


def _engine(run_file: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start_run(["--config", str(run_file)], env, log, cwd=run_file.parent)


def _wait_copies(db: Path, more_than: int, limit_s: float = 60) -> int:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        n = int(rows(db, "SELECT count(*) AS n FROM copy_trades")[0]["n"])
        if n > more_than:
            return n
        time.sleep(0.2)
    raise AssertionError(f"no copies beyond {more_than} within {limit_s}s")


def _drained(log: Path) -> dict[str, Any]:
    """The engine's `drained` log line (JSON)."""
    for line in log.read_text().splitlines():
        if '"drained"' in line:
            event: dict[str, Any] = json.loads(line)
            return event
    raise AssertionError(f"no 'drained' line in {log}")


def _fund_and_follow(urls: dict[str, str], address: str, tmp: Path) -> Path:
    """Fund the own wallet and write a run file in which both followers copy every leader."""
    admin(urls["admin"], "/fund", {"address": address, "collateral": "100000"})
    leaders = [leader["address"] for leader in admin(urls["admin"], "/scenario")["leaders"]]
    run_file = tmp / "run.toml"
    run_file.write_text(RUN_FILE.format(copies="".join(COPY.format(leader=x) for x in leaders)))
    return run_file


def _pending(db: Path) -> list[dict[str, Any]]:
    return rows(db, "SELECT id, state FROM copy_trades WHERE state = 'PENDING'")


@pytest.mark.timeout(300)
def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    key, address = follower_key("drain", 0)
    db = tmp_path / "drain.db"
    with _sim(tmp_path) as urls:
        run_file = _fund_and_follow(urls, address, tmp_path)
        # Orders take a while at the venue: SIGTERM always lands with copies in flight.
        admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 300}})

        # 1. A drain that lets every copy in flight get its venue answer: nothing is left PENDING.
        log1 = tmp_path / "engine-1.log"
        proc = _engine(run_file, _env(urls, db, key), log1)
        _wait_copies(db, 6)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=150) == 0, log1.read_text()[-3000:]
        drained = _drained(log1)
        assert drained["cut_off"] == 0, drained
        assert not _pending(db), _pending(db)
        assert "shutdown requested; draining" in log1.read_text()

        # 2. No grace and slow orders: the copies in flight are cut off and stay PENDING for the sweep
        # (never half-written); the log says how many.
        admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 3000}})
        log2 = tmp_path / "engine-2.log"
        proc = _engine(run_file, _env(urls, db, key, shutdown_grace_s="0"), log2)
        before = int(rows(db, "SELECT count(*) AS n FROM copy_trades")[0]["n"])
        _wait_copies(db, before + 2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=150) == 0, log2.read_text()[-3000:]
        drained = _drained(log2)
        left = _pending(db)
        assert drained["cut_off"] > 0, drained
        assert left, "copies cut off at the grace are left PENDING for the sweep"

        # 3. A restarted run's sweep settles what the cut-off left PENDING.
        admin(urls["admin"], "/faults", {"clear": True})
        log3 = tmp_path / "engine-3.log"
        proc = _engine(run_file, _env(urls, db, key), log3)
        deadline = time.monotonic() + 60
        ids = {r["id"] for r in left}
        while ids & {r["id"] for r in _pending(db)} and time.monotonic() < deadline:
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=150) == 0, log3.read_text()[-3000:]
        assert not ids & {r["id"] for r in _pending(db)}, "the restarted sweep settles earlier copies"
        assert not _pending(db)


@pytest.mark.timeout(180)
def test_second_signal_during_drain_exits_at_once(tmp_path: Path) -> None:
    key, address = follower_key("drain", 1)
    db = tmp_path / "drain.db"
    with _sim(tmp_path) as urls:
        run_file = _fund_and_follow(urls, address, tmp_path)
        admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 20_000}})  # answers never come
        log = tmp_path / "engine.log"
        env = _env(urls, db, key, shutdown_grace_s="60")
        env["POLYHUNTER__VENUE__REQUEST_TIMEOUT_MS"] = "30000"
        proc = _engine(run_file, env, log)
        _wait_copies(db, 2)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while "shutdown requested" not in log.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None, "the drain waits for the venue's answers"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert code == 128 + signal.SIGTERM, log.read_text()[-3000:]
        assert time.monotonic() - sent < 10
        assert re.search("second signal during the drain", log.read_text())
