"""`polyhunter run` tells its operator what it did: not on a terminal it logs `progress` lines while it
runs, and after SIGTERM (once drained) it prints a summary on stdout (copies by state and reason,
signal-to-submit p50 / p99, PnL per follower); with `--json` stdout is that summary as JSON, nothing else.

The simulator (`leaders` scenario) and the engine run as processes of their own, each in a new session.
"""

from __future__ import annotations

import json
import os
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

from polyhunter.runtime.live_view import LOG_EVERY_S
from polyhunter.secretbox import generate_master_key
from tests.support.sim_stack import rows

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "polyhunter.cli"]
READY_S = 60
COPY = '[[followers.copies]]\nleader = "{leader}"\nsizing = "FIXED_USDC"\nsizing_value = "2"\n'


def _scenario(base: str) -> Any:
    with urllib.request.urlopen(base + "/scenario", timeout=30) as resp:  # noqa: S310 - the local simulator
        return json.loads(resp.read())


@contextmanager
def _sim(tmp: Path) -> Iterator[dict[str, str]]:
    cmd = [*CLI, "sim", "--port", "0", "--scenario", "leaders", "--seed", "5", "--rate", "4"]
    with (tmp / "sim.log").open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
        try:
            assert proc.stdout is not None
            yield json.loads(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)


def _env(urls: dict[str, str], db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
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
            "POLYHUNTER__API__PORT": "0",
            "POLYHUNTER__SECRETS__MASTER_KEY": generate_master_key(),
            "POLYHUNTER__LOGGING__LEVEL": "INFO",
            "POLYHUNTER__LOGGING__FORMAT": "json",
        }
    )
    return env


def _run_until_sigterm(
    tmp: Path, urls: dict[str, str], *flags: str, copies: int, wait_s: float = 0
) -> tuple[int, str, str]:
    """Start `run`, wait for `copies` stored copies (and `wait_s` more), SIGTERM it: (code, stdout, log)."""
    leaders = [leader["address"] for leader in _scenario(urls["admin"])["leaders"]]
    run_file = tmp / "run.toml"
    run_file.write_text(
        '[[followers]]\nname = "paper"\ncustody = "PAPER"\n' + "".join(COPY.format(leader=x) for x in leaders)
    )
    db, log = tmp / f"run{len(flags)}.db", tmp / f"run{len(flags)}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "run", "--config", str(run_file), *flags],
            env=_env(urls, db),
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + READY_S
            while b"api listening" not in log.read_bytes():  # migrated and started
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"not ready after {READY_S}s; see {log}"
                time.sleep(0.1)
            while int(rows(db, "SELECT count(*) AS n FROM copy_trades")[0]["n"]) < copies:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"fewer than {copies} copies; see {log}"
                time.sleep(0.3)
            time.sleep(wait_s)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc.returncode, out.decode(), log.read_text()


@pytest.mark.timeout(300)
def test_run_prints_a_summary_after_sigterm(tmp_path: Path) -> None:
    with _sim(tmp_path) as urls:
        code, out, log = _run_until_sigterm(tmp_path, urls, copies=4, wait_s=LOG_EVERY_S + 1)
        assert code == 0, log[-3000:]
        assert '"progress"' in log  # not a terminal: log lines while it runs, no live view
        assert "\x1b[" not in out
        lines = out.splitlines()
        assert lines[0].startswith("stopped after "), out
        assert "copies" in lines[0]
        assert any(line.startswith("copies: ") and "EXECUTED" in line for line in lines), out
        assert any(line.startswith("signal→submit: p50 ") for line in lines), out
        assert "PnL (USDC):" in lines
        assert any(line.strip().startswith("paper ") for line in lines), out
        assert max(len(line) for line in lines) <= 80, out

        code, out, log = _run_until_sigterm(tmp_path, urls, "--json", copies=4)
        assert code == 0, log[-3000:]
        summary = json.loads(out)  # stdout is the summary, nothing else
        stored = sum(int(r["n"]) for r in rows(tmp_path / "run1.db", "SELECT count(*) AS n FROM copy_trades"))
        assert sum(summary["copies"].values()) == stored
        assert summary["copies"].get("EXECUTED", 0) > 0
        assert "PENDING" not in summary["copies"]  # drained before the summary
        assert set(summary["pnl_usdc"]) == {"paper"}
        latency = summary["signal_to_submit_ms"]
        assert 0 < latency["p50"] <= latency["p99"]
