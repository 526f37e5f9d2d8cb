"""Crash: `polyhunter watch --json` (HYBRID, SQLite, 10 min replay window) is SIGKILLed mid-run and
started again. The union of both runs' lines holds every leader fill exactly once (0 lost, 0 duplicates),
compared with the simulator's record, including the fills that happened while nothing was running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

from polyhunter.sim.server_app import SimServer
from tests.support.fill_ledger import FillId, compare, fill_id, wait_for
from tests.support.processes import stop_async_process
from tests.support.watch_files import watch_settings_file

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FOLLOWED = 8


class Watcher:
    """One `polyhunter watch` process writing its JSON lines to a file."""

    def __init__(self, tmp: Path, name: str, config: Path, leaders: list[str]) -> None:
        self.out_path = tmp / f"{name}.jsonl"
        self.err_path = tmp / f"{name}.err"
        self._args = [sys.executable, "-m", "polyhunter.cli", "watch", *leaders, "--mode", "HYBRID", "--json"]
        self._args += ["--settings", str(config)]
        self.proc: asyncio.subprocess.Process | None = None
        self._files: list[IO[bytes]] = []

    async def start(self) -> None:
        out, err = self.out_path.open("wb"), self.err_path.open("wb")
        self._files = [out, err]
        env = {**os.environ, "PYTHONUNBUFFERED": "0"}
        self.proc = await asyncio.create_subprocess_exec(*self._args, stdout=out, stderr=err, env=env)

    def lines(self) -> list[str]:
        return self.out_path.read_text().splitlines() if self.out_path.exists() else []

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        code = await stop_async_process(self.proc, first=sig)
        for f in self._files:
            f.close()
        return code


def parse(lines: list[str]) -> tuple[list[dict[str, Any]], int]:
    rows, broken = [], 0
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            broken += 1
    return rows, broken


async def test_watch_survives_sigkill_without_losing_or_repeating_a_fill(tmp_path: Path) -> None:
    async with SimServer("leaders", seed=21, port=0, leaders=FOLLOWED + 2, markets=6, rate=8.0) as sim:
        leaders = sim.runner.leaders[:FOLLOWED]
        config = watch_settings_file(tmp_path, sim.urls, replay_window_s=600, poll_interval_degraded_ms=500)
        first = Watcher(tmp_path, "run1", config, leaders)
        second = Watcher(tmp_path, "run2", config, leaders)
        await first.start()
        try:
            assert await wait_for(lambda: len(first.lines()) >= 1, 60), first.err_path.read_text()
            await asyncio.sleep(2)  # every leader has a poll cursor now
            from_ms = (int(time.time()) + 1) * 1000
            await asyncio.sleep(20)
            killed_at = time.time()
            assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
            await asyncio.sleep(8)  # fills go on while nothing watches
            restarted_at = time.time()
            await second.start()
            await asyncio.sleep(20)
            await sim.runner.stop()
            await sim.state.settle(timeout_s=10)
            to_ms = int(time.time() * 1000)

            def union() -> list[tuple[FillId, str]]:
                rows, _ = parse(first.lines() + second.lines())
                return [
                    (fill_id(r["tx_hash"], r["leader"], r["asset"], r["side"], r["size"]), r["source"])
                    for r in rows
                ]

            def lost() -> int:
                return len(compare(sim.state.fills, union(), leaders=leaders, expected_from_ms=from_ms).lost)

            await wait_for(lambda: lost() == 0, 30, 0.25)
            await asyncio.sleep(2)
        finally:
            for w in (first, second):
                if w.proc is not None:
                    await w.stop(signal.SIGINT)
        result = compare(
            sim.state.fills, union(), leaders=leaders, expected_from_ms=from_ms, expected_to_ms=to_ms
        )
        rows1, broken1 = parse(first.lines())
        rows2, broken2 = parse(second.lines())
        downtime = [
            r
            for r in rows2
            if r["source"] == "poll"
            and killed_at - 1 <= datetime.fromisoformat(r["fill_time"]).timestamp() <= restarted_at
        ]
        report = {
            **result.summary(),
            "run1_lines": len(rows1),
            "run2_lines": len(rows2),
            "broken_lines": broken1 + broken2,
            "down_s": round(restarted_at - killed_at, 1),
            "recovered_by_poll_after_restart": len(downtime),
        }
        print("\nwatch crash:", json.dumps(report))
    assert result.expected >= 200, report
    assert result.lost == [], (
        report,
        first.err_path.read_text()[-2000:],
        second.err_path.read_text()[-2000:],
    )
    assert result.duplicates == {}, report
    assert result.phantoms == [], report
    assert broken1 + broken2 == 0, report
    assert rows1, report
    assert rows2, report
    assert downtime, report  # fills of the downtime came back through the poller's cursor
