"""`polyhunter doctor` (a subprocess) against the simulator: it passes on a ready deployment and names
the failed check (exit 1) when the venue is down, a key is wrong, the allowance is missing or the
chain's RPC node is dead; `polyhunter run` refuses to start on a failed critical check (exit 2)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.settings import DbSettings
from polyhunter.sim.server_app import SimServer
from polyhunter.store import migrate
from tests.support.sim_stack import admin, follower_key, fund

LEADER = "0x" + "ab" * 20
KEY_ENV = "PH_DOCTOR_ALICE_KEY"


@dataclass
class Deployment:
    sim: SimServer
    settings: Path
    run_file: Path
    key: str
    address: str


def _settings_text(urls: dict[str, str], tmp: Path) -> str:
    return f"""
[venue]
clob_url = "{urls["clob"]}"
data_api_url = "{urls["data_api"]}"
gamma_url = "{urls["gamma"]}"
clob_ws_url = "{urls["clob_ws"]}"
rtds_ws_url = "{urls["rtds_ws"]}"
[db]
url = "sqlite+aiosqlite:///{tmp / "ph.db"}"
[ingest]
chain_in_hybrid = false
[api]
port = 0
[secrets]
master_key_file = "{tmp / "master.key"}"
"""


RUN_FILE = f"""
[[followers]]
name = "alice"
custody = "EOA"
private_key_env = "{KEY_ENV}"
[[followers.copies]]
leader = "{LEADER}"
sizing = "FIXED_USDC"
sizing_value = "5"
max_trade_usdc = "20"

[[followers]]
name = "bob"
[[followers.copies]]
leader = "{LEADER}"
sizing = "FIXED_USDC"
sizing_value = "5"
"""


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async with SimServer(scenario="quiet", seed=3, port=0) as sim:
        settings = tmp_path / "polyhunter.toml"
        settings.write_text(_settings_text(sim.urls, tmp_path))
        run_file = tmp_path / "run.toml"
        run_file.write_text(RUN_FILE)
        await migrate.upgrade(DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'ph.db'}"))
        key, address = follower_key("doctor", 0)
        async with aiohttp.ClientSession() as http:
            await fund(http, sim.urls["admin"], address, Decimal(100))
        yield Deployment(sim, settings, run_file, key, address)


async def _cli(*args: str, key: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env[KEY_ENV] = key
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "polyhunter.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=240)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _doctor(d: Deployment, *extra: str, key: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    args = ["doctor", "--json", "--settings", str(d.settings), "--config", str(d.run_file), *extra]
    code, out, err = await _cli(*args, key=key if key is not None else d.key)
    return code, json.loads(out)


def _failed(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in checks if c["status"] == "fail"}


async def test_doctor_passes_against_the_simulator(deployment: Deployment) -> None:
    code, out, err = await _cli(
        "doctor",
        "--settings",
        str(deployment.settings),
        "--config",
        str(deployment.run_file),
        key=deployment.key,
    )
    assert code == 0, out + err
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("✗")], out
    names = {line.split(":", 1)[0][2:] for line in lines}
    assert {
        "settings",
        "run_file",
        "database",
        "venue.clob",
        "venue.data_api",
        "venue.gamma",
        "venue.rtds",
    } <= names
    assert {"wallet.alice.auth", "wallet.alice.funds", "coord.redis", "venue.chain_rpc"} <= names
    assert any(line.startswith("- coord.redis") for line in lines)  # memory backend: skipped
    code, checks = await _doctor(deployment)
    assert code == 0
    assert {c["status"] for c in checks} <= {"pass", "skip"}
    assert all(set(c) == {"name", "status", "reason", "fix"} for c in checks)


async def test_doctor_fails_on_the_venue_when_the_simulator_is_stopped(deployment: Deployment) -> None:
    await deployment.sim.__aexit__(None, None, None)
    code, out, _ = await _cli(
        "doctor",
        "--settings",
        str(deployment.settings),
        "--config",
        str(deployment.run_file),
        key=deployment.key,
    )
    assert code == 1
    clob = next(line for line in out.splitlines() if line.startswith("✗ venue.clob:"))
    assert "unreachable (connection refused at http://127.0.0.1:" in clob
    assert "— fix: start the venue or set venue.clob_url" in clob


@pytest.mark.parametrize(
    ("key", "extra", "why"),
    [
        ("0x1234", [], f"env var {KEY_ENV} does not hold a private key"),
        ("", [], f"env var {KEY_ENV} is not set"),
        (None, ["--set", "venue.chain_id=80002"], "the venue refused"),  # L1 signed for another chain
    ],
)
async def test_doctor_fails_on_auth_with_a_wrong_key(
    deployment: Deployment, key: str | None, extra: list[str], why: str
) -> None:
    code, checks = await _doctor(deployment, *extra, key=key)
    assert code == 1
    failed = _failed(checks)
    assert why in failed["wallet.alice.auth"]["reason"]
    assert failed["wallet.alice.auth"]["fix"]


async def test_doctor_fails_on_the_allowance(deployment: Deployment) -> None:
    async with aiohttp.ClientSession() as http:
        await admin(
            http,
            deployment.sim.urls["admin"],
            "POST",
            "/allowance",
            {"address": deployment.address, "allowance": "0"},
        )
    code, checks = await _doctor(deployment)
    assert code == 1
    funds = _failed(checks)["wallet.alice.funds"]
    assert "allowance below the largest copy (20 USDC)" in funds["reason"]
    assert "approve both V2 exchanges" in funds["fix"]
    assert set(_failed(checks)) == {"wallet.alice.funds"}


async def test_doctor_fails_on_a_dead_chain_rpc(deployment: Deployment) -> None:
    code, checks = await _doctor(deployment, "--set", "venue.chain_rpc_url=http://127.0.0.1:1")
    assert code == 1
    assert set(_failed(checks)) == {"venue.chain_rpc"}
    assert "http://127.0.0.1:1" in _failed(checks)["venue.chain_rpc"]["reason"]


async def test_doctor_exits_2_on_bad_settings(deployment: Deployment) -> None:
    code, checks = await _doctor(deployment, "--set", "venue.clob_url=ftp://nowhere")
    assert code == 2
    assert [c["name"] for c in checks] == ["settings"]
    assert checks[0]["status"] == "fail"


async def test_run_refuses_to_start_on_a_failed_critical_check(deployment: Deployment) -> None:
    code, out, err = await _cli(
        "run",
        "--settings",
        str(deployment.settings),
        "--config",
        str(deployment.run_file),
        "--set",
        "venue.chain_id=80002",
        "--duration",
        "1",
        key=deployment.key,
    )
    assert code == 2, out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors, err
    assert all("wallet.alice.auth" in line for line in errors), err


async def test_doctor_checks_redis_and_the_deployment_prefix(deployment: Deployment) -> None:
    code, checks = await _doctor(deployment, "--set", "coord.backend=redis")
    assert code == 0, checks
    redis = next(c for c in checks if c["name"] == "coord.redis")
    assert redis["status"] == "pass"
    assert "keys under polyhunter:" in redis["reason"]
    assert "no deployment id" not in redis["reason"]  # read from the migrated database (0003)
    code, checks = await _doctor(
        deployment, "--set", "coord.backend=redis", "--set", "coord.redis_url=redis://127.0.0.1:1/0"
    )
    assert code == 1
    assert set(_failed(checks)) == {"coord.redis"}
    assert "start Redis or set coord.redis_url" in _failed(checks)["coord.redis"]["fix"]
