"""A new own wallet on the simulator's chain mode (anvil), through the CLI as an operator would (issue 14):
`wallet new`, USDC.e and POL arrive on chain (`sim fund --usdce --pol`), the doctor fails its funds
check, `wallet setup --dry-run` lists the wrap and the approvals and sends nothing, `wallet setup` sends
them (the key never printed), a second run sends nothing, the doctor then passes, and `polyhunter run`
copies a leader fill from that wallet (EXECUTED, its signed order at the venue). The copies settle on chain
(the venue's money is on chain: the wallet's pUSD and positions are the ledger's), the market resolves, the
running program redeems by the wallet's own `redeemPositions` transaction, and the realized PnL it records
(payout - cost - fees) is what the wallet's pUSD on chain gained or lost, to the base unit."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from polyhunter.adapters.chain.abi import encode_call
from polyhunter.cli import app
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_tokens import CTF, PUSD
from tests.support.chain_tools import require_chain_tools
from tests.support.cli_runs import admin, sim_process, start_run, wait_until
from tests.support.processes import stop_process
from tests.support.sim_stack import rows

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

KEY_ENV = "NEWBIE_KEY"
RUN_FILE = """
[[followers]]
name = "newbie"
custody = "EOA"
private_key_env = "{key_env}"
[[followers.copies]]
leader = "{leader}"
sizing = "FIXED_USDC"
sizing_value = "3"
max_trade_usdc = "5"
"""
REDEEMED = "SELECT * FROM redemptions WHERE state = 'REDEEMED'"
EXECUTED = (
    "SELECT count(*) AS n FROM copy_trades c JOIN copy_configs g ON g.id = c.config_id "
    "JOIN users u ON u.id = g.user_id WHERE c.state = 'EXECUTED' AND u.username = 'newbie'"
)


def _cli(*args: str, env: dict[str, str], cwd: Path) -> Result:
    """The command in this process (a loaded machine takes ~10-40 s to start a Python process; the sim
    and `polyhunter run` are processes of their own)."""
    assert Path.cwd() == cwd
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def _eth_uint(rpc_url: str, to: str, data: bytes) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_call",
        "params": [{"to": to, "data": "0x" + data.hex()}, "latest"],
    }
    req = urllib.request.Request(  # noqa: S310 - the local anvil
        rpc_url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the local anvil
        return int(json.loads(resp.read())["result"], 16)


def _pusd(rpc_url: str, owner: str) -> int:
    return _eth_uint(rpc_url, PUSD, encode_call("balanceOf(address)", [owner]))


def _position(rpc_url: str, owner: str, token: str) -> int:
    return _eth_uint(rpc_url, CTF, encode_call("balanceOf(address,uint256)", [owner, int(token)]))


def _checks(result: Result) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(result.stdout)}


def test_new_wallet_setup_on_chain_then_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_chain_tools()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    settings = tmp_path / "sim" / "sim.toml"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    with AnvilProcess() as anvil:
        sim_args = [
            "--scenario",
            "leaders",
            "--seed",
            "11",
            "--rate",
            "2",
            "--leaders",
            "1",
            "--markets",
            "1",
        ]
        chain = ["--chain-rpc", anvil.url, "--chain-id", "31337", "--write-settings", str(settings)]
        with sim_process(tmp_path, *sim_args, *chain) as urls:
            new = _cli("wallet", "new", "--key-file", "newbie.key", env=env, cwd=work)
            assert new.exit_code == 0, new.stderr
            address = new.stdout.strip()
            key = (work / "newbie.key").read_text().strip()
            assert key not in new.stdout
            assert (work / "newbie.key").stat().st_mode & 0o077 == 0, "the key file is the owner's only"
            env[KEY_ENV] = key

            fund = _cli(
                "sim",
                "fund",
                "--settings",
                str(settings),
                address,
                "--usdce",
                "40",
                "--pol",
                "1",
                env=env,
                cwd=work,
            )
            assert fund.exit_code == 0, fund.stderr
            assert _cli("db", "upgrade", "--settings", str(settings), env=env, cwd=work).exit_code == 0
            leader = admin(urls["admin"], "/scenario")["leaders"][0]["address"]
            run_file = work / "run.toml"
            run_file.write_text(RUN_FILE.format(key_env=KEY_ENV, leader=leader))
            doctor = ["doctor", "--json", "--settings", str(settings), "--config", str(run_file)]

            before = _cli(*doctor, env=env, cwd=work)
            assert before.exit_code == 1, before.stdout + before.stderr
            assert _checks(before)["wallet.newbie.funds"]["status"] == "fail"
            assert _checks(before)["wallet.newbie.auth"]["status"] == "pass"

            setup = ["wallet", "setup", "--settings", str(settings), "--config", str(run_file)]
            dry = _cli(*setup, "--dry-run", "--json", env=env, cwd=work)
            assert dry.exit_code == 0, dry.stderr
            planned = json.loads(dry.stdout)
            kinds = [tx["kind"] for tx in planned["planned"]]
            assert kinds == ["approve", "wrap", *["approve"] * 3, *["approval_for_all"] * 3], kinds
            assert planned["sent"] == []
            assert planned["chain"]["usdce"] == "40000000"
            assert planned["chain"]["pusd"] == "0"

            done = _cli(*setup, env=env, cwd=work)
            assert done.exit_code == 0, done.stdout + done.stderr
            assert key not in done.stdout + done.stderr
            assert key[2:] not in done.stdout + done.stderr
            assert done.stdout.count(" sent ") == 8, done.stdout
            assert "balance 40 pUSD, allowances unlimited, unlimited, unlimited" in done.stdout, done.stdout

            rerun = _cli(*setup, "--json", env=env, cwd=work)
            assert rerun.exit_code == 0, rerun.stderr
            second = json.loads(rerun.stdout)
            assert (second["planned"], second["sent"]) == ([], []), "idempotent: nothing left to send"
            assert second["chain"]["pusd"] == "40000000"
            assert second["venue"]["balance"] == "40000000", "credited once, not once per update"

            after = _cli(*doctor, env=env, cwd=work)
            assert _checks(after)["wallet.newbie.funds"]["status"] == "pass", after.stdout
            assert after.exit_code == 0, after.stdout

            run_log = tmp_path / "run.log"
            db = tmp_path / "sim" / "var" / "polyhunter.db"
            run = start_run(
                ["--settings", str(settings), "--config", str(run_file), "--set", "api.port=0"],
                env,
                run_log,
                work,
            )
            try:
                wait_until(
                    "an EXECUTED copy from the new wallet",
                    lambda: rows(db, EXECUTED)[0]["n"] > 0,
                    run,
                    120,
                    step_s=0.5,
                )
                market = admin(urls["admin"], "/scenario")["markets"][0]
                yes = market["tokens"][0]
                assert (
                    _position(anvil.url, address, yes) + _position(anvil.url, address, market["tokens"][1])
                    > 0
                )
                resolve = {"condition_id": market["condition_id"], "winning_token": yes, "auto_redeem": False}
                admin(urls["admin"], "/resolve", resolve)
                wait_until(
                    "the resolved market redeemed by the wallet's transaction",
                    lambda: bool(rows(db, REDEEMED)),
                    run,
                    120,
                    step_s=0.5,
                )
            finally:
                code = stop_process(run, timeout_s=30)
            assert code == 0, run_log.read_text()[-3000:]
            orders = admin(urls["admin"], f"/orders?maker={address.lower()}")
            assert orders, "the new wallet's signed orders reached the venue"
            (redeemed,) = rows(db, REDEEMED)
            assert _position(anvil.url, address, yes) == 0, "redeemed on chain"
            assert redeemed["payout_micro"] == redeemed["shares_micro"]
            gained = _pusd(anvil.url, address) - 40_000_000
            assert redeemed["realized_pnl_micro"] == gained, (redeemed, gained)
            assert redeemed["realized_pnl_micro"] == (
                redeemed["payout_micro"]
                + redeemed["sold_micro"]
                - redeemed["bought_micro"]
                - redeemed["fees_micro"]
            )
