"""The README's walk-through, run as written (issue 14): its one `sh` block, from `make demo` through an
own wallet set up and copying on the simulator (chain mode, a private anvil) to the live checklist's
commands, in one bash (`-e`: a failing line fails the test) from the repository root. Afterwards the
run's database shows EXECUTED copies for both followers, and nothing the block started is left
running."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.chain_tools import require_chain_tools
from tests.support.sim_stack import rows

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = ROOT / "walkthrough"  # what the block writes (git-ignored)
EXECUTED = (
    "SELECT u.username AS name, count(*) AS n FROM copy_trades c JOIN copy_configs g ON g.id = c.config_id "
    "JOIN users u ON u.id = g.user_id WHERE c.state = 'EXECUTED' GROUP BY u.username"
)


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Walk-through") :]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README walk-through has no sh block"
    return block.group(1)


def test_the_walkthrough_goes_from_the_demo_to_the_live_checklist() -> None:
    lines = walkthrough().splitlines()
    assert lines[0].startswith("make demo"), "it starts with the demo"
    for command in ("sim --scenario", "wallet new", "sim fund", "wallet setup", "doctor", "run --settings"):
        assert any(f"polyhunter {command}" in line for line in lines), command


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    require_chain_tools()
    shutil.rmtree(WORKDIR, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER") and k != "BOB_KEY"}
    # the API on a free port, not the default 8080: another test of the suite may run a supervisor at once
    env["POLYHUNTER__API__PORT"] = "0"
    log = tmp_path / "walkthrough.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - the README's own commands
                ["bash", "-e", "-c", walkthrough()],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            code = proc.wait(timeout=1200)
        finally:
            deadline = time.monotonic() + 60
            while not _group_gone(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)  # waiting for the killed simulator to stop its anvil and exit
            left = not _group_gone(proc.pid)
            if left:
                os.killpg(proc.pid, signal.SIGKILL)
        output = log.read_text(errors="replace")
        assert code == 0, output[-4000:]
        assert not left, "the block left a process running"
        assert (WORKDIR / "bob.key").read_text().strip()[2:] not in output, "the key is never printed"
        assert "nothing to send" not in output, "the setup sent the wallet's transactions"
        executed = {r["name"]: r["n"] for r in rows(WORKDIR / "var" / "polyhunter.db", EXECUTED)}
        assert executed.get("alice", 0) > 0, (executed, output[-3000:])
        assert executed.get("bob", 0) > 0, (executed, output[-3000:])
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)
