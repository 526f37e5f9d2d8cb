"""`polyhunter serve`'s supervisor (no run file: it starts following nobody) on the simulator's "leaders"
scenario and a PostgreSQL database of its own: the set-up of the API-driven end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.server_app import SimServer
from tests.support.pg_databases import create_pg_database, drop_pg_database, pg_settings
from tests.support.sim_stack import admin, sim_settings


@dataclass(frozen=True, slots=True)
class Served:
    supervisor: Supervisor
    api_url: str
    leaders: list[str]  # the scenario's leaders' addresses, lower case


@contextlib.asynccontextmanager
async def serve_on_sim(
    tmp_path: Path, *, seed: int, leaders: int, engine: dict[str, Any] | None = None
) -> AsyncIterator[Served]:
    """The simulator ("leaders" scenario, 3 markets) and the supervisor, running, with its API; the API
    syncs changes every 200 ms; `engine` overrides engine settings. On exit: the supervisor stopped, the
    simulator closed, the database dropped."""
    name = await asyncio.to_thread(create_pg_database)
    try:
        async with SimServer("leaders", seed, 0, leaders=leaders, markets=3, rate=4) as sim:
            async with aiohttp.ClientSession() as http:
                scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
            settings = sim_settings(
                sim.urls,
                tmp_path / "unused.db",
                db={"url": pg_settings(name).url},
                api={"sync_interval_ms": 200},
                engine=engine or {},
            )
            sup = Supervisor(settings, None)
            await sup.start()
            running = asyncio.create_task(sup.run(stop_after=False))
            try:
                assert sup.api is not None
                addresses = [leader["address"].lower() for leader in scenario["leaders"]]
                yield Served(sup, sup.api.url, addresses)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                await sup.stop()
    finally:
        await asyncio.to_thread(drop_pg_database, name)
