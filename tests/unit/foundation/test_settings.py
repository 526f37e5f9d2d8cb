"""Settings: precedence, unknown keys, one-line errors, redaction in `config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.settings import SettingsError, load_settings

PRIVATE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("POLYHUNTER"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "polyhunter.toml"
    path.write_text(text)
    return path


def test_defaults_are_valid() -> None:
    settings = load_settings()
    assert settings.db.url.startswith("sqlite+aiosqlite:///")
    assert settings.coord.backend == "memory"
    assert settings.ingest.mode == "HYBRID"


def test_precedence_file_then_env_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[api]\nport = 1111\nhost = "0.0.0.0"\n[coord]\nbackend = "redis"\n')
    assert load_settings(path).api.port == 1111
    monkeypatch.setenv("POLYHUNTER__API__PORT", "2222")
    settings = load_settings(path)
    assert (settings.api.port, settings.api.host, settings.coord.backend) == (2222, "0.0.0.0", "redis")
    assert load_settings(path, {"api": {"port": 3333}}).api.port == 3333


def test_db_url_env_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYHUNTER__DB__URL", "postgresql://127.0.0.1:5432/test")
    assert load_settings().db.url == "postgresql+asyncpg://127.0.0.1:5432/test"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[db]\nurll = "x"\n', "db.urll: Extra inputs are not permitted"),
        ("[nosuch]\na = 1\n", "nosuch: Extra inputs are not permitted"),
        ('[guardrails]\nmax_trade_usdc = "lots"\n', "guardrails.max_trade_usdc"),
        ('[coord]\nbackend = "etcd"\n', "coord.backend"),
        ('[venue]\nclob_url = "ftp://x"\n', "venue.clob_url"),
    ],
)
def test_bad_file_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert needle in message
    assert len(message.splitlines()) == 1


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[db\n"))
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_unknown_env_key_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYHUNTER__DB__PASSWORDX", "1")
    with pytest.raises(SettingsError, match="POLYHUNTER__DB__PASSWORDX"):
        load_settings()


def test_config_check_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "[engine]\nfanout_concurrency = 0\n")
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "engine.fanout_concurrency" in lines[0]


def test_config_show_redacts_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(
        tmp_path,
        f'[secrets]\nprivate_key = "{PRIVATE_KEY}"\nclob_api_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="\n',
    )
    monkeypatch.setenv("POLYHUNTER__SECRETS__CLOB_API_PASSPHRASE", "passphrase-123456")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert PRIVATE_KEY not in result.output
    assert PRIVATE_KEY[2:] not in result.output
    assert "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" not in result.output
    assert "passphrase-123456" not in result.output
    shown = json.loads(result.output)
    assert shown["secrets"]["private_key"] == "**********"


def test_set_flags_win_over_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, '[api]\nport = 1111\n[ingest]\nmode = "WS_ONLY"\n')
    monkeypatch.setenv("POLYHUNTER__API__PORT", "2222")
    result = CliRunner().invoke(
        app,
        [
            "config",
            "show",
            "--set",
            "api.port=3333",
            "--set",
            "guardrails.dry_run=true",
            "--set",
            "ingest.mode=HYBRID",
        ],
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["api"]["port"] == 3333
    assert shown["guardrails"]["dry_run"] is True
    assert shown["ingest"]["mode"] == "HYBRID"


def test_set_flag_with_a_json_list(tmp_path: Path) -> None:
    leader = "0x" + "ab" * 20
    result = CliRunner().invoke(
        app, ["config", "show", "--set", f'ingest.chain_exchange_addresses=["{leader}"]']
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ingest"]["chain_exchange_addresses"] == [leader]


@pytest.mark.parametrize(
    ("flag", "needle"),
    [
        ("api.port", "expected SECTION.KEY=VALUE"),
        ("port=1", "expected SECTION.KEY=VALUE"),
        ("api.port=lots", "api.port"),
        ("api.nosuch=1", "api.nosuch"),
        ("ingest.mode=[1", "not valid JSON"),
    ],
)
def test_bad_set_flag_is_one_line_naming_it(tmp_path: Path, flag: str, needle: str) -> None:
    result = CliRunner().invoke(app, ["config", "check", "--set", flag])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert needle in lines[0]


def test_config_show_redacts_url_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(
        tmp_path,
        '[db]\nurl = "postgresql+asyncpg://app:db-pa55@word@db.example:5432/poly"\n'
        '[coord]\nredis_url = "redis://:redis-s3cret@cache.example:6379/0"\n',
    )
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    for secret in ("db-pa55", "word@db", "redis-s3cret"):
        assert secret not in result.output
    shown = json.loads(result.output)
    assert shown["db"]["url"] == "postgresql+asyncpg://app:***@db.example:5432/poly"
    assert shown["coord"]["redis_url"] == "redis://:***@cache.example:6379/0"
    assert shown["venue"]["clob_url"] == "https://clob.polymarket.com"  # no credentials: as is


def test_relative_paths_resolve_against_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started from another directory, the same settings file gives the same key file and database."""
    home = tmp_path / "deploy"
    home.mkdir()
    path = home / "polyhunter.toml"
    path.write_text('[db]\nurl = "sqlite+aiosqlite:///./var/ph.db?mode=rwc"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(path)
    assert settings.secrets.master_key_file == str(home / "var" / "master.key")
    assert settings.db.url == f"sqlite+aiosqlite:///{home / 'var' / 'ph.db'}?mode=rwc"
    # No file: the working directory; absolute paths stay as they are.
    defaults = load_settings()
    assert defaults.secrets.master_key_file == str(elsewhere / "var" / "master.key")
    assert defaults.db.url == f"sqlite+aiosqlite:///{elsewhere / 'var' / 'polyhunter.db'}"
    monkeypatch.setenv("POLYHUNTER__SECRETS__MASTER_KEY_FILE", "/etc/ph/master.key")
    assert load_settings(path).secrets.master_key_file == "/etc/ph/master.key"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "[guardrails]\nmax_trade_usdc = 1e308\n",
            "guardrails.max_trade_usdc: Input should be less than or equal to 1E+9",
        ),
        (
            '[guardrails]\ndaily_user_cap_usdc = "NaN"\n',
            "guardrails.daily_user_cap_usdc: Input should be a finite number",
        ),
        (
            "[ingest]\npoll_interval_ms = 1e12\n",
            "ingest.poll_interval_ms: Input should be less than or equal to 86400000",
        ),
        (
            "[engine]\npending_ttl_s = 1e12\n",
            "engine.pending_ttl_s: Input should be less than or equal to 86400",
        ),
        ('[coord]\nkey_prefix = "a b"\n', "coord.key_prefix: String should match pattern"),
    ],
)
def test_numbers_are_finite_and_bounded(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_write(tmp_path, text))
    assert needle in str(err.value)
    assert len(str(err.value).splitlines()) == 1
