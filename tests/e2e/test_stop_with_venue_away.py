"""SIGTERM while the venue does not answer: `polyhunter run` copies for an own-wallet and a paper
follower, the simulator is then frozen (SIGSTOP: its sockets stay open, nothing answers) and the run is
stopped. It must drain and exit 0 within its grace and the overrun window, print its summary with a note
of what it could not read from the venue, and not write a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from polyhunter.runtime.shutdown import OVERRUN_S
from polyhunter.secretbox import generate_master_key
from tests.support.cli_runs import CLI, admin, run_env, start_run, wait_until
from tests.support.processes import stop_process
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

GRACE_S = 5.0
RUN_FILE = """
[[followers]]
name = "own"
custody = "EOA"
private_key_env = "AWAY_KEY"
{own}
[[followers]]
name = "paper"
custody = "PAPER"
{paper}
"""
COPY = '[[followers.copies]]\nleader = "{leader}"\nsizing = "FIXED_USDC"\nsizing_value = "2"\n'


@contextmanager
def _sim(tmp: Path) -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    cmd = [*CLI, "sim", "--port", "0", "--scenario", "leaders", "--seed", "11", "--rate", "4"]
    with (tmp / "sim.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True)  # noqa: S603
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline()), proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        stop_process(proc, timeout_s=30)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.timeout(300)
def test_sigterm_with_the_venue_frozen_drains_and_exits_zero(tmp_path: Path) -> None:
    key, address = follower_key("away", 0)
    with _sim(tmp_path) as (urls, sim):
        admin(urls["admin"], "/fund", {"address": address, "collateral": "1000"})
        leaders = [x["address"] for x in admin(urls["admin"], "/scenario")["leaders"]]
        copies = "".join(COPY.format(leader=x) for x in leaders)
        run_file = tmp_path / "run.toml"
        run_file.write_text(RUN_FILE.format(own=copies, paper=copies))
        db, log = tmp_path / "away.db", tmp_path / "run.log"
        settings = {
            "secrets.master_key": generate_master_key(),
            "engine.shutdown_grace_s": GRACE_S,
            "engine.pending_ttl_s": 5,
        }
        proc = start_run(
            ["--config", str(run_file)], run_env(urls, db, settings, {"AWAY_KEY": key}), log, tmp_path
        )
        try:
            own = "SELECT count(*) AS n FROM copy_trades c JOIN users u ON u.id = c.user_id WHERE u.username = 'own'"
            wait_until("copies of the own wallet", lambda: rows(db, own)[0]["n"] >= 3, proc, limit_s=120)
            os.kill(sim.pid, signal.SIGSTOP)  # the venue freezes: connections open, no answers
            asked = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=GRACE_S + OVERRUN_S + 30)
            took = time.monotonic() - asked
        finally:
            stop_process(proc)
    text = log.read_text(errors="replace")
    assert code == 0, f"exit {code} after {took:.1f} s; the log ends:\n{text[-4000:]}"
    assert took < GRACE_S + OVERRUN_S, f"the stop took {took:.1f} s"
    assert "Traceback" not in text, text[-4000:]
    assert "not read at stop: pnl_usdc" in text, text[-3000:]
    assert "stopped after" in text
