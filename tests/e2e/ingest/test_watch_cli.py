"""`polyhunter watch` as a user runs it, against the simulator: `--json` lines carry every documented field
with its JSON type, `--mode` overrides the settings file, and bad leader addresses are refused with
one line on stderr and a non-zero exit before anything is started."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.sim.server_app import SimServer
from tests.support.fill_ledger import compare, fill_id, wait_for
from tests.support.processes import stop_async_process
from tests.support.watch_files import watch_settings_file

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[3]
HEX40 = re.compile(r"0x[0-9a-f]{40}")
HEX64 = re.compile(r"0x[0-9a-f]{64}")


def watch_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "polyhunter.cli", "watch", *args, "--settings", str(config)]


def check_types(row: dict[str, Any]) -> None:
    assert isinstance(row["key"], str)
    assert re.fullmatch(r"[0-9a-f]{32}", row["key"]), row
    assert isinstance(row["leader"], str)
    assert HEX40.fullmatch(row["leader"]), row
    assert isinstance(row["asset"], str)
    assert row["asset"].isdigit(), row
    assert row["side"] in ("BUY", "SELL"), row
    # money and sizes are decimal strings (a JSON number would be a float), never empty
    assert isinstance(row["size"], str)
    assert Decimal(row["size"]) > 0, row
    assert isinstance(row["price"], str)
    assert Decimal(0) < Decimal(row["price"]) < Decimal(1), row
    assert isinstance(row["tx_hash"], str)
    assert HEX64.fullmatch(row["tx_hash"]), row
    assert isinstance(row["source"], str)
    assert isinstance(row["lag_ms"], int)
    assert not isinstance(row["lag_ms"], bool)


async def test_json_lines_carry_every_field_and_the_mode_flag_wins(tmp_path: Path) -> None:
    """The file says HYBRID (push would win most fills); `--mode POLLING_ONLY` must be what runs."""
    async with SimServer("leaders", seed=33, port=0, leaders=6, markets=4, rate=8.0) as sim:
        leaders = sim.runner.leaders[:4]
        config = watch_settings_file(tmp_path, sim.urls, mode="HYBRID")
        out_path, err_path = tmp_path / "watch.jsonl", tmp_path / "watch.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *watch_cmd(config, *leaders, "--mode", "POLLING_ONLY", "--json"),
                stdout=out,
                stderr=err,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            try:

                def lines() -> list[str]:
                    return out_path.read_text().splitlines()

                assert await wait_for(lambda: len(lines()) >= 12, 90, 0.25), err_path.read_text()[-2000:]
            finally:
                await stop_async_process(proc, first=signal.SIGINT)
        rows = [json.loads(line) for line in lines()]
        emitted = [
            (fill_id(r["tx_hash"], r["leader"], r["asset"], r["side"], r["size"]), r["source"]) for r in rows
        ]
        result = compare(sim.state.fills, emitted, leaders=leaders, expected_from_ms=2**62)
    for row in rows:
        check_types(row)
    assert {r["source"] for r in rows} == {"poll"}, [r["source"] for r in rows]
    assert {r["leader"] for r in rows} <= {leader.lower() for leader in leaders}
    assert result.phantoms == []  # every line is a real fill of a followed leader
    assert result.duplicates == {}
    assert len({r["key"] for r in rows}) == len(rows)


@pytest.mark.parametrize(
    "bad",
    [
        "0x1234",  # too short
        "0x" + "zz" * 20,  # right length, not hex
        "ab" * 21,  # no 0x
    ],
)
def test_a_bad_leader_address_is_refused_in_one_line(tmp_path: Path, bad: str) -> None:
    dead = {k: "http://127.0.0.1:9" for k in ("clob", "data_api", "gamma")}
    dead |= {"clob_ws": "ws://127.0.0.1:9", "rtds_ws": "ws://127.0.0.1:9"}
    config = watch_settings_file(tmp_path, dead)
    good = "0x" + "ab" * 20
    done = subprocess.run(
        watch_cmd(config, good, bad, "--json"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: not a leader address")
    assert repr(bad) in lines[0]
    assert good not in lines[0]
