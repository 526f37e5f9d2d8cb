"""/health on a running supervisor (ingestion, engine, sweeper, API) against the in-process simulator
tells the truth: ok with everything up; the venue check down (and the status not ok) once the
simulator stops; HTTP 503 (status down) once the database cannot be opened."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.server_app import SimServer
from tests.support.engine_rig import sim_trade
from tests.support.sim_stack import sim_settings

pytestmark = pytest.mark.integration

LEADER = "0x" + "ab" * 20


async def _health(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url + "/health") as resp:
        doc: dict[str, Any] = await resp.json()
        return resp.status, doc


async def _until(http: aiohttp.ClientSession, url: str, ok: Any, limit_s: float = 20) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        code, doc = await _health(http, url)
        if ok(code, doc):
            return doc
        assert asyncio.get_running_loop().time() < deadline, (code, doc)
        await asyncio.sleep(0.3)


async def _leader_trades(sim: SimServer, http: aiohttp.ClientSession) -> None:
    """The leader buys a few shares of the first market (a FOK order into the simulator's book)."""
    async with http.get(sim.urls["admin"] + "/scenario") as resp:
        token = str((await resp.json())["markets"][0]["tokens"][0])
    async with http.get(sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
        ask = min(Decimal(level["price"]) for level in (await resp.json())["asks"])
    sim_trade(sim, LEADER, token, Side.BUY, Decimal(20), ask)


async def test_health_reports_venue_and_database_outages(tmp_path: Path) -> None:
    copy = CopySpec(leader=LEADER, sizing="FIXED_USDC", sizing_value=Decimal(3))
    run = RunFile(followers=[FollowerSpec(name="paper", custody="PAPER", copies=[copy])])
    db = tmp_path / "engine.db"
    sim = SimServer("quiet", 7, 0, markets=2)
    await sim.start()
    sim_running = True
    stop = asyncio.Event()
    sup = Supervisor(sim_settings(sim.urls, db), run, serve_api=True)
    try:
        await sup.start()
        assert sup.api is not None
        url = sup.api.url
        running = asyncio.create_task(sup.run(stop=stop, stop_after=False))
        async with aiohttp.ClientSession() as http:
            await _leader_trades(sim, http)  # the push feed has something to say: it is fresh
            doc = await _until(http, url, lambda code, d: code == 200 and d["status"] == "ok")
            checks = doc["checks"]
            assert {"database", "venue", "queue", "source:ws", "source:poll"} <= set(checks), checks
            assert all(c["status"] == "ok" for c in checks.values()), checks
            assert "signals in flight" in checks["queue"]["detail"]

            await sim.stop()  # the venue (and the sources' feeds) go away
            sim_running = False
            doc = await _until(http, url, lambda code, d: d["checks"]["venue"]["status"] == "down")
            assert doc["status"] != "ok"
            code, doc = await _health(http, url)
            assert code == 200, doc  # degraded, not down: the database still answers
            assert doc["checks"]["database"]["status"] == "ok"

            await sup.db.dispose()  # the database becomes unreachable: its file cannot be opened
            db.rename(tmp_path / "moved.db")
            db.mkdir()
            doc = await _until(http, url, lambda code, d: code == 503)
            assert doc["status"] == "down"
            assert doc["checks"]["database"]["status"] == "down", doc
            db.rmdir()
            (tmp_path / "moved.db").rename(db)
        stop.set()
        await running
    finally:
        if db.is_dir():
            shutil.rmtree(db)
            (tmp_path / "moved.db").rename(db)
        await sup.stop()
        if sim_running:
            await sim.stop()
