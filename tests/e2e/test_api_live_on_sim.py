"""Changes through the API take effect in a running engine, on the simulator and PostgreSQL.

`polyhunter serve`'s supervisor (no run file: it starts following nobody) runs against the simulator.
Through the API: alice signs up, makes a paper follower, adds leader A and a config for it: a copy
of A's fills is recorded within 5 s of the config's creation. Then leader B (never followed by this
process) and a config for it: B is followed and copied without a restart. Then "stop everything":
from then on the copies are SKIPPED CONFIG_PAUSED, and none executes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.api_stack import Client, sign_up
from tests.support.serve_stack import serve_on_sim

pytestmark = pytest.mark.integration

WITHIN_S = 5.0


async def _wait_copies(alice: Client, query: str, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        status, page = await alice.call("GET", f"/api/v1/copies?{query}")
        assert status == 200, page
        if page["items"] or time.monotonic() > deadline:
            return list(page["items"])
        await asyncio.sleep(0.1)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def _copied_within(alice: Client, config: dict[str, str], label: str) -> list[dict[str, Any]]:
    """Create the config; its first copy is recorded within WITHIN_S of the config's creation."""
    status, created = await alice.call("POST", "/api/v1/configs", config)
    assert status == 201, created
    copies = await _wait_copies(alice, f"config_id={created['id']}", 3 * WITHIN_S)
    assert copies, f"no copy of {label}"
    first = min(_at(c["created_at"]) for c in copies)
    print(f"{label} -> first copy {(first - _at(created['created_at'])).total_seconds():.2f} s")
    assert first - _at(created["created_at"]) <= timedelta(seconds=WITHIN_S)
    return copies


async def test_config_and_leader_added_live(tmp_path: Path) -> None:
    async with serve_on_sim(tmp_path, seed=41, leaders=2) as served:
        sup = served.supervisor
        leader_a, leader_b = served.leaders[:2]
        assert sup.ingest.leaders == []
        async with aiohttp.ClientSession() as http:
            alice = await sign_up(http, served.api_url, "alice")
            status, follower = await alice.call("POST", "/api/v1/followers", {"name": "paper"})
            assert status == 201, follower
            assert (await alice.call("POST", "/api/v1/leaders", {"address": leader_a}))[0] == 201
            body = {"follower_id": follower["id"], "sizing": "FIXED_USDC", "sizing_value": "3"}
            await _copied_within(alice, {**body, "leader": leader_a}, "config A")
            assert leader_a in sup.ingest.leaders

            # A leader this process never followed: added, followed, copied; no restart.
            assert leader_b not in sup.ingest.leaders
            copies = await _copied_within(alice, {**body, "leader": leader_b}, "new leader B")
            assert leader_b in sup.ingest.leaders
            assert {c["leader"] for c in copies} == {leader_b}

            # Stop everything: copies after it are skipped, none executes.
            status, stopped = await alice.call("POST", "/api/v1/stop")
            assert status == 200
            assert stopped == {"configs": 2}
            stop_at = datetime.now(UTC)
            paused = await _wait_copies(alice, "reason=CONFIG_PAUSED", 3 * WITHIN_S)
            assert paused, "no copy skipped after the stop"
            # the engine sees the stop within a sync interval and its config cache: 1 s is ample
            _, page = await alice.call("GET", "/api/v1/copies?state=EXECUTED&limit=200")
            late = [c for c in page["items"] if _at(c["created_at"]) > stop_at + timedelta(seconds=1)]
            assert late == []
