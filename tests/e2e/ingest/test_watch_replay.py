"""Issue 14 (replay fidelity), done-when: the simulator's replay of a recorded file of real rows, watched by
`polyhunter watch`, gives the same (leader, asset, side, transaction) groups with the same total sizes as
the file.

The file is the REAL capture `current-2026-09/rtds_activity_trades.json` (RTDS frames; the replay reads
their payloads): two transactions each hold both counterparties of one match, sizes carry four decimals.
`watch` runs HYBRID (RTDS push plus Data API polling), so every row reaches it twice and must come out once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.fill_ledger import wait_for
from tests.support.paths import FIXTURES
from tests.support.processes import stop_async_process
from tests.support.watch_files import watch_settings_file

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[3]
RECORDED = FIXTURES / "current-2026-09" / "rtds_activity_trades.json"
Group = tuple[str, str, str, str]


def _groups(rows: list[dict[str, Any]], *, leader: str, size: str, tx: str) -> dict[Group, Decimal]:
    out: dict[Group, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(str(r[leader]).lower(), str(r["asset"]), str(r["side"]), str(r[tx]).lower())] += Decimal(
            str(r[size])
        )
    return dict(out)


async def test_watch_sees_the_recorded_groups_of_a_replay(tmp_path: Path) -> None:
    recorded = [frame["payload"] for frame in json.loads(RECORDED.read_text())]
    expected = _groups(recorded, leader="proxyWallet", size="size", tx="transactionHash")
    leaders = sorted({r["proxyWallet"].lower() for r in recorded})
    config = ScenarioConfig(name="replay", seed=5, replay_file=RECORDED, replay_delay_s=120.0)
    async with SimServer(config, port=0) as sim:
        settings = watch_settings_file(tmp_path, sim.urls, mode="HYBRID")
        out_path, err_path = tmp_path / "watch.jsonl", tmp_path / "watch.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            cmd = [
                sys.executable,
                "-m",
                "polyhunter.cli",
                "watch",
                *leaders,
                "--json",
                "--settings",
                str(settings),
            ]
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=out, stderr=err, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
            try:
                subscribed = await wait_for(lambda: sim.state.rtds.subscriber_count > 0, 90, 0.1)
                assert subscribed, err_path.read_text()[-2000:]
                await asyncio.sleep(2.0)  # the poller's first round sets its cursor at "now"
                sim.runner.begin_replay()

                def lines() -> list[dict[str, Any]]:
                    return [json.loads(line) for line in out_path.read_text().splitlines()]

                assert await wait_for(lambda: len(lines()) >= len(recorded), 60, 0.2), err_path.read_text()[
                    -2000:
                ]
                await asyncio.sleep(3.0)  # a poll round after the push: duplicates would show by now
            finally:
                await stop_async_process(proc, first=signal.SIGINT)
        assert sim.runner.fills == len(recorded)
        assert sim.runner.skipped == 0
    got = _groups(lines(), leader="leader", size="size", tx="tx_hash")
    assert got == expected
    assert len(lines()) == len(recorded)
