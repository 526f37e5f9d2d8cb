"""`polyhunter wallet new` and the input errors of `wallet setup`: one line, exit 2 (1 when the chain or
venue refuses), the key never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.adapters.polymarket.funder_wallets import proxy_wallet_of
from polyhunter.cli import app
from polyhunter.runtime.identity_checks import address_of_key

KEY = "0x" + "5a" * 32


def test_new_writes_an_owner_only_key_and_prints_the_address(tmp_path: Path) -> None:
    key_file = tmp_path / "w.key"
    result = CliRunner().invoke(app, ["wallet", "new", "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    key = key_file.read_text().strip()
    assert result.stdout.strip() == address_from_private_key(key)
    assert key[2:] not in result.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(app, ["wallet", "new", "--key-file", str(key_file)])
    assert again.exit_code == 2
    assert "never overwrites" in again.stderr
    assert key_file.read_text().strip() == key


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "give --key-env NAME or --config RUNFILE"),
        (["--key-env", "K", "--config", "run.toml"], {"K": KEY}, "give --key-env NAME or --config RUNFILE"),
        (["--key-env", "K", "--follower", "x"], {"K": KEY}, "--follower goes with --config"),
        (["--key-env", "PH_UNSET_KEY_VAR"], {}, "env var PH_UNSET_KEY_VAR is not set"),
        (["--key-env", "K"], {"K": "abc"}, "env var K does not hold a private key"),
        (["--key-env", "K"], {"K": "0x" + "zz" * 32}, "env var K does not hold a private key"),
        (["--key-env", "K", "--allowance", "-5"], {"K": KEY}, "a positive USDC amount or 'max'"),
        (["--key-env", "K", "--allowance", "nan"], {"K": KEY}, "a positive USDC amount or 'max'"),
        (["--key-env", "K", "--allowance", "1.0000001"], {"K": KEY}, "a positive USDC amount or 'max'"),
        (["--key-env", "K", "--allowance", "1e90"], {"K": KEY}, "a positive USDC amount or 'max'"),
        (["--config", "missing.toml"], {}, "run file not found"),
    ],
)
def test_setup_input_errors_are_one_line(args: list[str], env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(app, ["wallet", "setup", *args], env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert "zz" * 8 not in result.output


def test_setup_without_a_chain_node_says_so(tmp_path: Path) -> None:
    settings = tmp_path / "s.toml"
    settings.write_text("[venue]\nclob_url = 'http://127.0.0.1:9'\n")
    result = CliRunner().invoke(
        app, ["wallet", "setup", "--settings", str(settings), "--key-env", "K"], env={"K": KEY}
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: K: wallet setup needs a chain node: set venue.chain_rpc_url"
    assert KEY[2:] not in result.output


def test_setup_of_a_proxy_wallet_follower_is_refused(tmp_path: Path) -> None:
    run_file = tmp_path / "run.toml"
    run_file.write_text(
        '[[followers]]\nname = "p"\ncustody = "EOA"\nprivate_key_env = "K"\nsignature_type = 1\n'
        f'funder = "{proxy_wallet_of(address_of_key(KEY))}"\n'
    )
    result = CliRunner().invoke(app, ["wallet", "setup", "--config", str(run_file)], env={"K": KEY})
    assert result.exit_code == 2
    assert "not the key's address (a proxy wallet?)" in result.stderr


def test_setup_against_a_dead_node_is_one_line(tmp_path: Path) -> None:
    settings = tmp_path / "s.toml"
    settings.write_text("[venue]\nchain_rpc_url = 'http://127.0.0.1:9'\n")
    result = CliRunner().invoke(
        app, ["wallet", "setup", "--settings", str(settings), "--key-env", "K", "--dry-run"], env={"K": KEY}
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: K: cannot read the wallet on chain at http://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1
