"""`polyhunter account create / role`: the only way to make an admin; bad names, short passwords and
unknown accounts are one line each; the password is stored only as an argon2id hash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app

pytestmark = pytest.mark.integration


def test_create_and_promote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "p.db"
    monkeypatch.delenv("POLYHUNTER_CONFIG", raising=False)
    monkeypatch.setenv("POLYHUNTER__DB__URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("POLYHUNTER_ACCOUNT_PASSWORD", "a long password")
    runner = CliRunner()
    made = runner.invoke(app, ["account", "create", "Ops", "--admin"])
    assert made.exit_code == 0, made.output
    assert "account ops" in made.output
    with sqlite3.connect(db) as conn:
        role, hashed = conn.execute(
            "SELECT role, password_hash FROM accounts WHERE username = 'ops'"
        ).fetchone()
    assert role == "admin"
    assert hashed.startswith("$argon2id$")
    assert "a long password" not in hashed
    demoted = runner.invoke(app, ["account", "role", "ops", "user"])
    assert demoted.exit_code == 0, demoted.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT role FROM accounts").fetchone() == ("user",)
    assert runner.invoke(app, ["account", "role", "nobody", "admin"]).exit_code == 1
    assert runner.invoke(app, ["account", "role", "ops", "root"]).exit_code == 2
    assert runner.invoke(app, ["account", "create", "x y"]).exit_code == 2
    monkeypatch.setenv("POLYHUNTER_ACCOUNT_PASSWORD", "short")
    assert runner.invoke(app, ["account", "create", "other"]).exit_code == 2
