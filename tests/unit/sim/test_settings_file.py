"""`polyhunter sim --write-settings`: the file `load_settings` reads as is, in plain and chain mode; the
arguments of `polyhunter sim fund`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.settings import Settings, load_settings
from polyhunter.sim.settings_file import admin_url_in, settings_toml, write_settings_file

URLS = {
    "clob": "http://127.0.0.1:7001",
    "data_api": "http://127.0.0.1:7002",
    "gamma": "http://127.0.0.1:7003",
    "clob_ws": "ws://127.0.0.1:7004/ws",
    "rtds_ws": "ws://127.0.0.1:7005",
    "admin": "http://127.0.0.1:7006",
}
MIRROR = "0x" + "ab" * 20


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("POLYHUNTER"):
            monkeypatch.delenv(name)


def _load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "sub" / "sim.toml"
    write_settings_file(path, text)
    return load_settings(path)


def test_the_file_points_the_venue_at_the_sim_and_turns_the_chain_off(tmp_path: Path) -> None:
    s = _load(tmp_path, settings_toml(URLS, chain_id=137))
    v = s.venue
    assert (v.clob_url, v.data_api_url, v.gamma_url) == (URLS["clob"], URLS["data_api"], URLS["gamma"])
    assert (v.clob_ws_url, v.rtds_ws_url, v.chain_id) == (URLS["clob_ws"], URLS["rtds_ws"], 137)
    assert s.ingest.chain_in_hybrid is False
    assert "chain_rpc_url" not in v.model_fields_set
    # Nothing else: every other setting is the default (the db path relative to the file's directory).
    default = Settings()
    assert s.ingest.model_dump(exclude={"chain_in_hybrid"}) == default.ingest.model_dump(
        exclude={"chain_in_hybrid"}
    )
    assert s.engine == default.engine
    assert s.guardrails == default.guardrails
    assert s.db.url == f"sqlite+aiosqlite:///{(tmp_path / 'sub' / 'var' / 'polyhunter.db').resolve()}"
    assert not list((tmp_path / "sub").glob(".*.tmp"))


def test_chain_mode_reads_the_sims_node_and_mirror_contract(tmp_path: Path) -> None:
    urls = {**URLS, "chain_rpc": "http://127.0.0.1:8545"}
    text = settings_toml(urls, chain_id=31337, mirror_address=MIRROR, db_url="sqlite+aiosqlite:///x.db")
    s = _load(tmp_path, text)
    assert s.venue.chain_rpc_url == "http://127.0.0.1:8545"
    assert s.venue.chain_id == 31337
    assert s.ingest.chain_in_hybrid is True
    assert s.ingest.chain_exchange_addresses == [MIRROR]
    assert s.db.url == f"sqlite+aiosqlite:///{(tmp_path / 'sub' / 'x.db').resolve()}"
    assert s.ingest.mempool_url is None  # fast timing: matches are mined at once, nothing is pending


def test_live_chain_mode_turns_the_mempool_source_on(tmp_path: Path) -> None:
    urls = {**URLS, "chain_rpc": "http://127.0.0.1:8545"}
    s = _load(tmp_path, settings_toml(urls, chain_id=31337, mirror_address=MIRROR, mempool=True))
    assert s.ingest.mempool_url == "ws://127.0.0.1:8545"  # anvil's websocket, on the same port
    assert s.ingest.mempool_in_hybrid is True
    assert settings_toml(URLS, chain_id=137, mempool=True).count("mempool_url") == 0  # no chain: no mempool


def test_the_admin_url_is_a_comment_fund_reads(tmp_path: Path) -> None:
    text = settings_toml(URLS, chain_id=137)
    assert admin_url_in(text) == URLS["admin"]
    assert admin_url_in("[venue]\nclob_url = 'http://x'\n") is None


def test_sim_fund_needs_an_admin_url_and_something_to_fund(tmp_path: Path) -> None:
    runner = CliRunner()
    address = "0x" + "11" * 20
    no_admin = runner.invoke(app, ["sim", "fund", address, "--usdc", "5"])
    assert no_admin.exit_code == 2
    assert "--admin URL or --settings FILE" in " ".join(no_admin.output.split())
    other = tmp_path / "other.toml"
    other.write_text("[venue]\n")
    not_ours = runner.invoke(app, ["sim", "fund", address, "--usdc", "5", "--settings", str(other)])
    assert not_ours.exit_code == 2
    assert "names no sim admin URL" in " ".join(not_ours.output.split())
    nothing = runner.invoke(app, ["sim", "fund", address, "--admin", "http://127.0.0.1:1"])
    assert nothing.exit_code == 2
    half = runner.invoke(app, ["sim", "fund", address, "--admin", "http://127.0.0.1:1", "--token", "1"])
    assert half.exit_code == 2
