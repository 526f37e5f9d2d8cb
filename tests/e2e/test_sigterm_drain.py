"""SIGTERM on `polyhunter run` while copies flow: intake stops, copies in flight get their venue answers
(or, cut off at the grace, stay PENDING for the sweep), clients close, exit 0, and the log says what was
drained. A restarted run's sweep settles whatever a cut-off left PENDING. A second signal during the
drain exits at once, non-zero.

The simulator (`leaders` scenario) and the engine run as processes of their own, each in a new session
(so the test also works from a background job, whose children ignore SIGINT).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from polyhunter.secretbox import generate_master_key
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "polyhunter.cli"]
READY_S = 60
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


def _admin(base: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - the local simulator
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the local simulator
        return json.loads(resp.read())


@contextmanager
def _sim(tmp: Path) -> Iterator[dict[str, str]]:
    cmd = [*CLI, "sim", "--port", "0", "--scenario", "leaders", "--seed", "11", "--rate", "4"]
    with (tmp / "sim.log").open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
        try:
            assert proc.stdout is not None
            yield json.loads(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _env(urls: dict[str, str], db: Path, key: str, **engine: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env["DRAIN_KEY"] = key
    env.update(
        {
            "POLYHUNTER__VENUE__CLOB_URL": urls["clob"],
            "POLYHUNTER__VENUE__DATA_API_URL": urls["data_api"],
            "POLYHUNTER__VENUE__GAMMA_URL": urls["gamma"],
            "POLYHUNTER__VENUE__CLOB_WS_URL": urls["clob_ws"],
            "POLYHUNTER__VENUE__RTDS_WS_URL": urls["rtds_ws"],
            "POLYHUNTER__DB__URL": f"sqlite+aiosqlite:///{db}",
            "POLYHUNTER__COORD__BACKEND": "memory",
            "POLYHUNTER__INGEST__MODE": "HYBRID",
            "POLYHUNTER__INGEST__CHAIN_IN_HYBRID": "false",
            "POLYHUNTER__INGEST__POLL_INTERVAL_MS": "1000",
            "POLYHUNTER__ENGINE__PENDING_TTL_S": str(TTL_S),
            "POLYHUNTER__ENGINE__EXPIRY_SCAN_INTERVAL_MS": str(SCAN_MS),
            "POLYHUNTER__ENGINE__AGGREGATION_WINDOW_MS": "2000",
            "POLYHUNTER__API__PORT": "0",
            "POLYHUNTER__SECRETS__MASTER_KEY": MASTER_KEY,  # the same across restarts
            "POLYHUNTER__LOGGING__LEVEL": "INFO",
            "POLYHUNTER__LOGGING__FORMAT": "json",
        }
    )
    env.update({f"POLYHUNTER__ENGINE__{k.upper()}": v for k, v in engine.items()})
    return env


def _engine(run_file: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "run", "--config", str(run_file)],
            env=env,
            cwd=run_file.parent,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_S
    while b"api listening" not in log.read_bytes():
        assert proc.poll() is None, f"engine exited ({proc.returncode}); see {log}"
        assert time.monotonic() < deadline, f"engine not ready after {READY_S}s; see {log}"
        time.sleep(0.1)
    return proc


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


def _pending(db: Path) -> list[dict[str, Any]]:
    return rows(db, "SELECT id, state FROM copy_trades WHERE state = 'PENDING'")


@pytest.mark.timeout(300)
def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    key, address = follower_key("drain", 0)
    db = tmp_path / "drain.db"
    with _sim(tmp_path) as urls:
        _admin(urls["admin"], "/fund", {"address": address, "collateral": "100000"})
        leaders = [leader["address"] for leader in _admin(urls["admin"], "/scenario")["leaders"]]
        run_file = tmp_path / "run.toml"
        run_file.write_text(RUN_FILE.format(copies="".join(COPY.format(leader=x) for x in leaders)))
        # Orders take a while at the venue: SIGTERM always lands with copies in flight.
        _admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 300}})

        # 1. A drain that lets every copy in flight get its venue answer: nothing is left PENDING.
        log1 = tmp_path / "engine-1.log"
        proc = _engine(run_file, _env(urls, db, key), log1)
        _wait_copies(db, 6)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log1.read_text()[-3000:]
        drained = _drained(log1)
        assert drained["cut_off"] == 0, drained
        assert not _pending(db), _pending(db)
        assert "shutdown requested; draining" in log1.read_text()

        # 2. No grace and slow orders: the copies in flight are cut off and stay PENDING for the sweep
        # (never half-written); the log says how many.
        _admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 3000}})
        log2 = tmp_path / "engine-2.log"
        proc = _engine(run_file, _env(urls, db, key, shutdown_grace_s="0"), log2)
        before = int(rows(db, "SELECT count(*) AS n FROM copy_trades")[0]["n"])
        _wait_copies(db, before + 2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log2.read_text()[-3000:]
        drained = _drained(log2)
        left = _pending(db)
        assert drained["cut_off"] > 0, drained
        assert left, "copies cut off at the grace are left PENDING for the sweep"

        # 3. A restarted run's sweep settles what the cut-off left PENDING.
        _admin(urls["admin"], "/faults", {"clear": True})
        log3 = tmp_path / "engine-3.log"
        proc = _engine(run_file, _env(urls, db, key), log3)
        deadline = time.monotonic() + 60
        ids = {r["id"] for r in left}
        while ids & {r["id"] for r in _pending(db)} and time.monotonic() < deadline:
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log3.read_text()[-3000:]
        assert not ids & {r["id"] for r in _pending(db)}, "the restarted sweep settles earlier copies"
        assert not _pending(db)


@pytest.mark.timeout(180)
def test_second_signal_during_drain_exits_at_once(tmp_path: Path) -> None:
    key, address = follower_key("drain", 1)
    db = tmp_path / "drain.db"
    with _sim(tmp_path) as urls:
        _admin(urls["admin"], "/fund", {"address": address, "collateral": "100000"})
        leaders = [leader["address"] for leader in _admin(urls["admin"], "/scenario")["leaders"]]
        run_file = tmp_path / "run.toml"
        run_file.write_text(RUN_FILE.format(copies="".join(COPY.format(leader=x) for x in leaders)))
        _admin(urls["admin"], "/faults", {"latency_ms": {"clob:/order": 20_000}})  # answers never come
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
        code = proc.wait(timeout=10)
        assert code == 128 + signal.SIGTERM, log.read_text()[-3000:]
        assert time.monotonic() - sent < 5
        assert re.search("second signal during the drain", log.read_text())
