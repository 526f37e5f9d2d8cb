"""A PROXY follower on the simulator in chain mode: anvil (the simulator's chain and the custody contracts'),
the simulator settling its matches there, ``sim/proxy_stack.py``'s proxy and fleet over the venue's own pUSD
and ConditionalTokens (each worker's float deposited once, on the venue: on chain), and a supervisor running the follower (FIXED_USDC 6 of one leader) with settlement that flushes at once.

``direct=True``: the same follower in DIRECT mode (``custody = "DIRECT"``): the contracts over the venue's
pUSD and ConditionalTokens, the proxy funded on the simulator and approved by its owner, workers without
float (``direct_stack``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from polyhunter.runtime.demo import register_fleet
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.proxy_stack import ProxyStack, direct_stack, proxy_stack
from polyhunter.sim.server_app import SimServer
from tests.support.chain_tools import require_chain_tools
from tests.support.engine_rig import Rig, leader_address
from tests.support.sim_stack import admin, rows, sim_settings

L1 = leader_address(1)
USDC = 1_000_000
DEPOSIT, FLOAT = 1_000 * USDC, 500 * USDC


@dataclass
class ProxyOnSim:
    rig: Rig
    stack: ProxyStack
    markets: list[dict[str, Any]]


def _stack(admin_url: str, rpc_url: str, direct: bool) -> AbstractAsyncContextManager[ProxyStack]:
    if direct:
        return direct_stack(admin_url, rpc_url, deposit_micro=DEPOSIT)
    # the simulator's chain: one node for the venue and the custody, over the venue's pUSD and CTF
    return proxy_stack(admin_url, rpc_url, deposit_micro=DEPOSIT, float_micro=FLOAT)


@asynccontextmanager
async def proxy_on_sim(
    tmp_path: Path,
    markets: int = 2,
    *,
    direct: bool = False,
    engine: dict[str, Any] | None = None,
    **sim_options: Any,
) -> AsyncIterator[ProxyOnSim]:
    """``engine``: settings of the supervisor's ``[engine]`` section (the sweep's TTL, ...)."""
    require_chain_tools()
    db = tmp_path / "proxy.db"
    with AnvilProcess() as anvil:
        async with (
            SimServer("quiet", 7, 0, markets=markets, chain_rpc=anvil.url, **sim_options) as sim,
            aiohttp.ClientSession() as http,
        ):
            scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
            async with _stack(sim.urls["admin"], anvil.url, direct) as stack:
                settings = sim_settings(
                    sim.urls,
                    db,
                    venue={"chain_rpc_url": anvil.url},
                    proxy=stack.proxy_settings(
                        fee_bps=50,
                        profit_share_bps=1_000,
                        flush_interval_s=0.2,
                        ledger_cap_usdc="10",
                        retry_base_s=0.1,
                        tx_poll_s=0.02,
                    ),
                    ingest={"market_status_interval_s": 3600},  # tests poll the lifecycle themselves
                    engine=engine or {},
                )
                await register_fleet(settings, [(w.address, w.key, w.float_micro) for w in stack.fleet])
                copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(6))
                custody = "DIRECT" if direct else "PROXY"
                follower = FollowerSpec.model_validate(
                    {"name": "p", "custody": custody, "proxy": stack.proxy, "copies": [copy]}
                )
                run = RunFile(followers=[follower])
                sup = Supervisor(settings, run, serve_api=False)
                await sup.start()
                try:
                    yield ProxyOnSim(Rig(sim, sup, http, db, scenario["markets"]), stack, scenario["markets"])
                finally:
                    await sup.stop()


def all_executed(db: Path) -> list[dict[str, Any]] | None:
    copies = rows(db, "SELECT id, side, state, filled_size_micro FROM copy_trades ORDER BY id")
    return copies if copies and all(c["state"] == "EXECUTED" for c in copies) else None


async def wait_executed(db: Path, timeout_s: float = 60) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        while (copies := all_executed(db)) is None:  # noqa: ASYNC110 - a row count
            await asyncio.sleep(0.02)
    return copies
