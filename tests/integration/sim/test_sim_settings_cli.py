"""Copy on the simulator with three commands (issue 14): `polyhunter sim --write-settings FILE`, then
`polyhunter sim fund --settings FILE` for an own wallet, then `doctor` / `watch` / `run --settings FILE`
read the file as is: the doctor passes the venue and wallet checks, `watch` streams the leader's fills,
and `run` copies for a PAPER and a funded own-wallet follower."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli_runs import CLI, admin, sim_process, start_run, wait_until
from tests.support.processes import stop_process
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

KEY_ENV = "SIMSET_KEY"
RUN_FILE = """
[[followers]]
name = "paper"
custody = "PAPER"
[[followers.copies]]
leader = "{leader}"
sizing = "FIXED_USDC"
sizing_value = "2"

[[followers]]
name = "wallet"
custody = "EOA"
private_key_env = "{key_env}"
[[followers.copies]]
leader = "{leader}"
sizing = "FIXED_USDC"
sizing_value = "2"
"""


def _env(key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env[KEY_ENV] = key
    return env


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.timeout(240)
def test_write_settings_fund_doctor_watch_and_run(tmp_path: Path) -> None:
    work = tmp_path / "work"  # the commands run elsewhere: paths in the file are the file's
    work.mkdir()
    settings = tmp_path / "sim" / "sim.toml"
    key, address = follower_key("simset", 0)
    env = _env(key)
    sim_args = ["--scenario", "leaders", "--seed", "5", "--rate", "4", "--leaders", "1"]
    with sim_process(tmp_path, *sim_args, "--write-settings", str(settings)) as urls:
        text = settings.read_text()  # written before the URL line
        assert urls["clob"] in text
        assert urls["rtds_ws"] in text

        funded = _cli(
            "sim", "fund", "--settings", str(settings), address, "--usdc", "1000", env=env, cwd=work
        )
        assert funded.returncode == 0, funded.stderr
        assert json.loads(funded.stdout)["address"] == address

        upgraded = _cli("db", "upgrade", "--settings", str(settings), env=env, cwd=work)
        assert upgraded.returncode == 0, upgraded.stderr
        assert (tmp_path / "sim" / "var" / "polyhunter.db").exists(), "the default db, beside the file"

        leader = admin(urls["admin"], "/scenario")["leaders"][0]["address"]
        run_file = work / "run.toml"
        run_file.write_text(RUN_FILE.format(leader=leader, key_env=KEY_ENV))

        doctor = _cli(
            "doctor", "--json", "--settings", str(settings), "--config", str(run_file), env=env, cwd=work
        )
        checks = {c["name"]: c for c in json.loads(doctor.stdout)}
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        for name in ("venue.clob", "venue.data_api", "venue.gamma", "venue.rtds", "wallet.wallet.funds"):
            assert checks[name]["status"] == "pass", checks[name]
        assert checks["venue.chain_rpc"]["status"] == "skip", "the chain source is off"

        watch_log = tmp_path / "watch.log"
        with watch_log.open("wb") as out:
            watch = subprocess.Popen(  # noqa: S603 - our own CLI
                [*CLI, "watch", "--settings", str(settings), "--json", leader],
                env=env,
                cwd=work,
                stdout=out,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_until("a watched fill", lambda: leader in watch_log.read_text().lower(), watch, 60)
        finally:
            stop_process(watch, first=2)  # SIGINT, as Ctrl-C

        run_log = tmp_path / "run.log"
        run = start_run(
            ["--settings", str(settings), "--config", str(run_file), "--set", "api.port=0"],
            env,
            run_log,
            cwd=work,
        )
        db = tmp_path / "sim" / "var" / "polyhunter.db"
        sql = (
            "SELECT u.username AS name, count(*) AS n FROM copy_trades c JOIN copy_configs g ON g.id = "
            "c.config_id JOIN users u ON u.id = g.user_id WHERE c.state = 'EXECUTED' GROUP BY u.username"
        )
        try:
            wait_until("copies for both followers", lambda: len(rows(db, sql)) == 2, run, 90, step_s=0.5)
        finally:
            code = stop_process(run, timeout_s=30)
        assert code == 0, run_log.read_text()[-3000:]
        maker = [o for o in admin(urls["admin"], "/orders") if o["order"]["maker"].lower() == address]
        assert maker, "the own wallet's orders reached the simulator"
