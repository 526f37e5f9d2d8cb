"""`polyhunter run`: a busy API port is one line and exit code 2, before anything is migrated."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from polyhunter.api.server import ApiPortError, ApiServer
from polyhunter.cli import app

LEADER = "0x" + "ab" * 20


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _refused_before_migrating(tmp_path: Path, run_file: Path, api_port: str, *more: str) -> str:
    """`polyhunter run` with ``run_file``: exit 2 with one line (returned), and no database created."""
    db = tmp_path / "ph.db"
    args = ["run", "--config", str(run_file), "--set", f"db.url=sqlite+aiosqlite:///{db}", "--set", api_port]
    result = CliRunner().invoke(app, [*args, *more])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert not db.exists()  # nothing migrated
    return lines[0]


def test_a_busy_api_port_is_one_line_and_exit_2_before_migrating(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_file = tmp_path / "run.toml"
    run_file.write_text(
        f'[[followers]]\nname = "alice"\n[[followers.copies]]\nleader = "{LEADER}"\nsizing = "PROPORTIONAL"\n'
    )
    line = _refused_before_migrating(tmp_path, run_file, f"api.port={busy_port}", "--duration", "1")
    assert line.startswith(f"error: API port 127.0.0.1:{busy_port} is in use (api.port): ")


def test_the_api_server_names_the_setting_when_its_port_is_taken(busy_port: int) -> None:
    with pytest.raises(ApiPortError, match=rf"^API port 127\.0\.0\.1:{busy_port} is in use \(api\.port\): "):
        ApiServer(FastAPI(), "127.0.0.1", busy_port)


@pytest.mark.parametrize(
    ("follower", "expected"),
    [
        (
            'custody = "EOA"\nprivate_key_env = "PH_TEST_KEY"\nsignature_type = 2\nfunder = "0x 4d4'
            + "4" * 36
            + '"',
            "followers[0] (alice).funder: Value error, must be an address: 0x + 40 hex digits",
        ),
        (
            'custody = "EOA"\nprivate_key_env = "PH_TEST_BAD_KEY"',
            "followers[0] (alice).private_key_env: env var PH_TEST_BAD_KEY is not a private key",
        ),
        ("starting_cash_usdc = -1000", "followers[0] (alice).starting_cash_usdc: Input should be greater"),
    ],
)
def test_a_bad_run_file_is_refused_before_anything_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, follower: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PH_TEST_KEY", "0x" + "11" * 32)
    monkeypatch.setenv("PH_TEST_BAD_KEY", "0x1234")
    run_file = tmp_path / "run.toml"
    run_file.write_text(f'[[followers]]\nname = "alice"\n{follower}\n')
    assert expected in _refused_before_migrating(tmp_path, run_file, "api.port=0")
