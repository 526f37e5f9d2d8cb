"""docs/runbook.md's going-live steps, each command as written, against the simulator (issue 14).

The commands come from the runbook itself: the `sh` blocks of "## 1. Going live" in order, after the
"Rehearse on the simulator" block that makes the directory they run in. They run through bash from an
empty directory with the project's `polyhunter` script on the PATH. The only substitutions are the
ones the runbook names: anvil on a free port instead of 8545 (the test starts it), the printed wallet
address for `0xTHE_PRINTED_ADDRESS`, `CANARY_KEY` exported from the key file, and the simulator's
leader for `0x…` in the run file. A line ending in `&` runs in the background. Each `polyhunter run`
runs until its step's outcome is seen (copies SKIPPED `DRY_RUN`; then an EXECUTED copy) and is then
stopped with SIGINT (Ctrl-C), as the runbook says; it must exit 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from polyhunter.sim.anvil import AnvilProcess
from tests.support.chain_tools import require_chain_tools
from tests.support.cli_runs import admin, wait_until
from tests.support.processes import stop_process
from tests.support.sim_stack import rows

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
FENCE = re.compile(r"^\s*```(\w*)\s*\n(.*?)^\s*```", re.MULTILINE | re.DOTALL)
REHEARSE = "**Rehearse on the simulator.**"
COPIES = (
    "SELECT c.state, c.reason FROM copy_trades c JOIN copy_configs g ON g.id = c.config_id "
    "JOIN users u ON u.id = g.user_id WHERE u.username = 'ops-canary' ORDER BY c.id"
)


def going_live() -> tuple[list[str], list[str], str]:
    """(rehearsal lines, step command lines, run file) of the runbook's section 1."""
    text = RUNBOOK.read_text()
    section = text[text.index("## 1. Going live") : text.index("\n## 2.")]
    steps, rehearsal = section.split(REHEARSE)

    def lines(part: str, lang: str) -> Iterator[str]:
        for match in FENCE.finditer(part):
            if match.group(1) == lang:
                yield from (ln.strip() for ln in match.group(2).splitlines() if ln.strip())

    toml = "\n".join(m.group(2) for m in FENCE.finditer(steps) if m.group(1) == "toml")
    return list(lines(rehearsal, "sh")), list(lines(steps, "sh")), toml


def test_the_going_live_section_is_commands() -> None:
    rehearsal, steps, toml = going_live()
    assert all(line.startswith("polyhunter ") for line in steps), steps
    names = [" ".join(line.split()[1:3]) for line in steps]
    for expected in ("config check", "db upgrade", "wallet setup", "doctor --settings", "run --config"):
        assert any(n.startswith(expected) for n in names), (expected, names)
    assert 'private_key_env = "CANARY_KEY"' in toml
    assert any(line.startswith("polyhunter sim ") for line in rehearsal)


def _bash(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the runbook's own commands
        ["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _background(line: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - the runbook's own commands
            ["bash", "-c", "exec " + line], env=env, cwd=cwd, stdout=out, stderr=out, start_new_session=True
        )


def _copies(db: Path) -> list[dict[str, str]]:
    return rows(db, COPIES) if db.exists() else []


def _executed_after(db: Path, seen: int) -> Callable[[], bool]:
    return lambda: any(c["state"] == "EXECUTED" for c in _copies(db)[seen:])


def test_the_runbook_going_live_steps_on_the_simulator(tmp_path: Path) -> None:
    require_chain_tools()
    rehearsal, steps, toml = going_live()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # .venv/bin/polyhunter
    # the API on a free port, not the default 8080: another test of the suite may run a supervisor at once
    env["POLYHUNTER__API__PORT"] = "0"
    db = work / "var" / "polyhunter.db"
    with ExitStack() as stack:
        anvil = stack.enter_context(AnvilProcess())
        address = ""
        for n, line in enumerate(rehearsal):
            if line.startswith("node_modules/.bin/anvil"):
                continue  # started above, on a free port
            if line.startswith("export CANARY_KEY="):
                env["CANARY_KEY"] = (work / "canary.key").read_text().strip()
                continue
            line = line.replace("http://127.0.0.1:8545", anvil.url).replace("0xTHE_PRINTED_ADDRESS", address)
            if line.endswith("&"):
                proc = _background(line.rstrip("& "), env, work, tmp_path / f"rehearsal-{n}.log")
                stack.callback(stop_process, proc, timeout_s=30)
                wait_until("the settings file", (work / "polyhunter.toml").exists, proc, 240, step_s=0.5)
                continue
            done = _bash(line, env, work)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            if line.startswith("polyhunter wallet new"):
                address = done.stdout.strip()
        admin_url = re.search(r'sim\.admin_url = "([^"]+)"', (work / "polyhunter.toml").read_text())
        assert admin_url is not None
        leader = admin(admin_url.group(1), "/scenario")["leaders"][0]["address"]
        (work / "run.toml").write_text(toml.replace("0x…", leader))

        for n, line in enumerate(steps):
            if not line.startswith("polyhunter run "):
                done = _bash(line, env, work)
                assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                assert env["CANARY_KEY"][2:] not in done.stdout + done.stderr
                continue
            log = tmp_path / f"step-{n}.log"
            seen = len(_copies(db))
            proc = _background(line, env, work, log)
            try:
                if "guardrails.dry_run=true" in line:
                    wait_until(
                        f"copies SKIPPED DRY_RUN (see {log})",
                        lambda: any("DRY_RUN" in (c["reason"] or "") for c in _copies(db)),
                        proc,
                        300,
                        step_s=0.5,
                    )
                else:
                    wait_until(
                        f"an EXECUTED copy (see {log})",
                        _executed_after(db, seen),
                        proc,
                        300,
                        step_s=0.5,
                    )
            finally:
                code = stop_process(proc, first=signal.SIGINT, timeout_s=60)  # Ctrl-C
            assert code == 0, log.read_text()[-3000:]
