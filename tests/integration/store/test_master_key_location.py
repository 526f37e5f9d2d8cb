"""Where the master key lives (issue 13 item 7): an absolute path fixed by the settings (relative
paths are relative to the settings file), and never a new key while encrypted secrets are stored."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.secretbox import MasterKeyMissingError, SecretBox, generate_master_key
from polyhunter.settings import DbSettings, SecretsSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.master_key import open_secret_box
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.store_factories import new_address, new_user

pytestmark = pytest.mark.integration


async def _store_a_key(db: DbSettings, box: SecretBox) -> None:
    engine = create_engine(db)
    try:
        async with unit_of_work(create_session_factory(engine)) as s:
            user_id = await new_user(s)
            await WalletRepository(s, box).create(
                new_address(), WalletKind.EOA, user_id=user_id, private_key="0x" + secrets.token_hex(32)
            )
    finally:
        await engine.dispose()


async def _open(db: DbSettings, key_file: Path) -> SecretBox:
    engine = create_engine(db)
    try:
        return await open_secret_box(
            SecretsSettings(master_key_file=str(key_file)), create_session_factory(engine)
        )
    finally:
        await engine.dispose()


async def test_a_missing_key_file_with_stored_secrets_is_one_error_naming_it(
    sqlite_head: DbSettings, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "master.key"
    box = await _open(sqlite_head, key_file)  # no secrets stored yet: the key file is made
    assert key_file.exists()
    await _store_a_key(sqlite_head, box)
    assert (await _open(sqlite_head, key_file)).decrypt(
        box.encrypt("x", "wallet:1"), "wallet:1"
    ) == "x"  # the same key again
    key_file.unlink()
    with pytest.raises(MasterKeyMissingError) as err:
        await _open(sqlite_head, key_file)
    message = str(err.value)
    assert f"master key file {key_file} not found (secrets.master_key_file)" in message
    assert "\n" not in message
    assert not key_file.exists()  # not silently re-created


def test_run_started_elsewhere_uses_the_settings_key_and_refuses_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings file's relative paths resolve against its directory: started from another
    directory, `polyhunter run` finds the same database; with the key file gone it says so in one
    line (exit 2) instead of making a new key and dying on SecretBoxError."""
    home = tmp_path / "deploy"
    home.mkdir()
    settings = home / "polyhunter.toml"
    settings.write_text('[db]\nurl = "sqlite+aiosqlite:///./var/ph.db"\n[api]\nport = 0\n')
    run_file = home / "run.toml"
    run_file.write_text('[[followers]]\nname = "alice"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    db = DbSettings(url=f"sqlite+aiosqlite:///{home / 'var' / 'ph.db'}")
    asyncio.run(migrate.upgrade(db))
    asyncio.run(_store_a_key(db, SecretBox(generate_master_key())))
    result = CliRunner().invoke(app, ["run", "--config", str(run_file), "--settings", str(settings)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert f"error: master key file {home / 'var' / 'master.key'} not found" in lines[0]
    assert not (elsewhere / "var").exists()  # nothing made in the working directory
