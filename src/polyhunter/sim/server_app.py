"""``SimServer``: every simulator surface on real HTTP/websocket listeners, in-process or as a CLI.

Each surface has its own listener and base URL, so the official clients work with only the host
changed (CLOB REST paths sit at the root of ``clob``):

=========== ============================= =====================================================
key         base URL                      serves
=========== ============================= =====================================================
clob        ``http://H:P``                CLOB REST (market data, auth, orders, /data/*)
data_api    ``http://H:P+1``              Data API v1 ``/trades``, ``/activity``, ``/positions``
gamma       ``http://H:P+2``              Gamma ``/markets``, ``/events``
clob_ws     ``ws://H:P+3/ws``             ``<clob_ws>/market`` and ``<clob_ws>/user``
rtds_ws     ``ws://H:P+4``                RTDS (path ``/`` or ``/ws``)
admin       ``http://H:P+5``              admin API (never faulted)
chain_rpc   the ``--chain-rpc`` URL       only when matches are mirrored on a local chain
=========== ============================= =====================================================

With ``port=0`` every listener takes a free port. Usage::

    async with SimServer(scenario="leaders", seed=7, port=0) as sim:
        sim.urls["clob"]
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import replace
from typing import Any

from aiohttp import web

from polyhunter.log import get_logger
from polyhunter.sim.events import TradeEvent
from polyhunter.sim.faults import Faults
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.scenarios import ScenarioConfig, ScenarioRunner, catalog_for
from polyhunter.sim.server_admin import build_admin_app
from polyhunter.sim.server_clob_auth import CHAIN_ID, add_auth_routes
from polyhunter.sim.server_clob_data import add_data_routes
from polyhunter.sim.server_clob_history import add_history_routes
from polyhunter.sim.server_clob_market import STATE, add_market_routes
from polyhunter.sim.server_clob_orders import add_order_routes
from polyhunter.sim.server_data_api import build_data_api_app
from polyhunter.sim.server_gamma import build_gamma_app
from polyhunter.sim.server_http import fault_middleware
from polyhunter.sim.state import SimState
from polyhunter.sim.timing import SimTiming, timing_named

__all__ = ["SURFACES", "SimServer"]

log = get_logger(__name__)
SURFACES = ("clob", "data_api", "gamma", "clob_ws", "rtds_ws", "admin")


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class SimServer:
    """The whole simulator: engine state, scenario, faults and six listeners."""

    def __init__(
        self,
        scenario: str | ScenarioConfig = "quiet",
        seed: int = 0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        faults: Faults | None = None,
        chain_rpc: str | None = None,
        chain_id: int = 137,
        mined_delay_s: float = 0.2,
        confirmed_delay_s: float = 0.6,
        history_retention_s: float = 0,
        timing: SimTiming | str = "fast",
        **scenario_options: Any,
    ) -> None:
        """``history_retention_s`` > 0 keeps only that much trade and order history (0: all of it).
        ``timing``: ``fast`` (with ``mined_delay_s`` / ``confirmed_delay_s``) or ``live`` (``sim/timing.py``):
        with a chain, live timing mines a block every 2 s and settles each match by a pending transaction."""
        if isinstance(scenario, ScenarioConfig):
            self.config = replace(scenario, **scenario_options) if scenario_options else scenario
        else:
            self.config = ScenarioConfig(name=scenario, seed=seed, **scenario_options)
        self.host = host
        self.port = port
        self.chain_rpc = chain_rpc
        self.chain_id = chain_id
        self.history_retention_s = history_retention_s
        self.faults = faults or Faults(seed=self.config.seed)
        if isinstance(timing, str):
            timing = (
                timing_named(timing, mined_delay_s=mined_delay_s, confirmed_delay_s=confirmed_delay_s)
                if timing == "fast"
                else timing_named(timing)
            )
        self.timing = timing
        catalog = catalog_for(self.config)
        self.question_ids: dict[str, str] = {}  # chain mode: condition id -> the CTF question id
        if chain_rpc and self.config.name != "replay":  # recorded markets keep their recorded ids
            catalog = self._on_chain(catalog)
        self.state = SimState(
            seed=self.config.seed,
            catalog=catalog,
            faults=self.faults,
            mined_delay_s=mined_delay_s,
            confirmed_delay_s=confirmed_delay_s,
            timing=timing,
        )
        self.faults.listeners.append(self.state.on_faults_changed)
        self.runner = ScenarioRunner(self.config, self.state)
        self.urls: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []
        self._drop_task: asyncio.Task[None] | None = None
        self._mirror: Any = None

    def _on_chain(self, catalog: list[MarketInfo]) -> list[MarketInfo]:
        """The markets with the ids the ConditionalTokens give them (the simulator is the oracle)."""
        from polyhunter.sim.chain_tokens import PUSD
        from polyhunter.sim.chain_venue import ORACLE
        from polyhunter.sim.ctf_ids import on_chain, question_id_of

        out = []
        for info in catalog:
            moved = on_chain(info, ORACLE, PUSD)
            self.question_ids[moved.condition_id] = question_id_of(info.condition_id)
            out.append(moved)
        return out

    @property
    def mirror_address(self) -> str | None:
        """The contract the chain mirror emits exchange logs from (None unless matches are mirrored)."""
        return str(self._mirror.address) if self._mirror is not None else None

    # -- apps ---------------------------------------------------------------------------------------
    def _clob_app(self) -> web.Application:
        app = web.Application(
            middlewares=[fault_middleware(self.faults, "clob")], client_max_size=4 * 1024**2
        )
        app[STATE] = self.state
        app[CHAIN_ID] = self.chain_id
        add_market_routes(app)
        add_history_routes(app)
        add_auth_routes(app)
        add_order_routes(app)
        add_data_routes(app)
        return app

    def _clob_ws_app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware(self.faults, "clob_ws")])
        app.router.add_get("/ws/market", self.state.market_ws.handler)
        app.router.add_get("/ws/user", self.state.user_ws.handler)
        return app

    def _rtds_app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware(self.faults, "rtds_ws")])
        app.router.add_get("/", self.state.rtds.handler)
        app.router.add_get("/ws", self.state.rtds.handler)
        return app

    def _apps(self) -> dict[str, web.Application]:
        return {
            "clob": self._clob_app(),
            "data_api": build_data_api_app(self.state, [fault_middleware(self.faults, "data_api")]),
            "gamma": build_gamma_app(self.state, [fault_middleware(self.faults, "gamma")]),
            "clob_ws": self._clob_ws_app(),
            "rtds_ws": self._rtds_app(),
            "admin": build_admin_app(
                self.state, self.runner.describe, [fault_middleware(Faults(), "admin")], self.runner.stop
            ),
        }

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> dict[str, str]:
        if self.chain_rpc:
            await self._start_mirror(self.chain_rpc)
        for offset, (name, app) in enumerate(self._apps().items()):
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            self._runners.append(runner)
            sock = _bind(self.host, self.port + offset if self.port else 0)
            port = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
            scheme = "ws" if name.endswith("_ws") else "http"
            suffix = "/ws" if name == "clob_ws" else ""
            self.urls[name] = f"{scheme}://{self.host}:{port}{suffix}"
        if self.chain_rpc:
            self.urls["chain_rpc"] = self.chain_rpc
        await self.runner.start()
        self.state.on_faults_changed()  # --stale-books freezes the seeded books
        self._drop_task = asyncio.create_task(self._housekeeping(), name="sim-housekeeping")
        log.info("sim.started", scenario=self.config.name, seed=self.config.seed, **self.urls)
        return self.urls

    async def stop(self) -> None:
        await self.runner.stop()
        if self._drop_task is not None:
            self._drop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drop_task
        await self.state.registry.close_all()
        await self.state.aclose()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._mirror is not None:
            await self._mirror.close()

    async def __aenter__(self) -> SimServer:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _housekeeping(self) -> None:
        """Expire GTD orders on time, cancel the orders of keys whose heartbeats stopped, and close
        every websocket each ``ws_drop_every_s`` seconds while that fault is set."""
        loop = asyncio.get_running_loop()
        last = next_expiry = next_prune = loop.time()
        while True:
            await asyncio.sleep(0.05)
            if loop.time() >= next_expiry:
                self.state.expire()
                self.state.check_heartbeats()
                next_expiry = loop.time() + 0.1
            if self.history_retention_s > 0 and loop.time() >= next_prune:
                self.state.prune_history(self.state.now_ms() - int(self.history_retention_s * 1000))
                next_prune = loop.time() + 5.0
            every = self.faults.ws_drop_every_s
            if every is None:
                last = loop.time()
            elif loop.time() - last >= every:
                dropped = await self.state.registry.close_all()
                log.info("sim.ws_dropped", connections=dropped)
                last = loop.time()

    # -- chain mirror -------------------------------------------------------------------------------
    async def _start_mirror(self, rpc_url: str) -> None:
        """Chain mode: the tokens, the CTF and the settling exchange on the node; every match settles
        there (``chain_venue.py``), every deposit and resolution is mirrored there."""
        from polyhunter.sim.chain_mirror import ChainMirror
        from polyhunter.sim.chain_tokens import ChainTokens
        from polyhunter.sim.chain_venue import ChainVenue

        mirror = ChainMirror(rpc_url, block_time_s=self.timing.block_time_s)
        self._mirror = mirror
        tokens = ChainTokens(mirror.rpc)
        await tokens.start()
        self.state.chain_tokens = tokens
        mirror.operator = tokens.operator
        venue = ChainVenue(mirror, self.state.engine, self.question_ids)
        await venue.start(self.state.catalog)
        if self.timing.block_time_s is not None:
            await mirror.start_blocks()
        mirror.lock = tokens.lock
        tokens.venue = venue
        self.state.chain_venue = venue
        self.state.settlement.chain = mirror  # blocks: matches wait for theirs (or are dropped)

        async def emit(trade: TradeEvent, info: MarketInfo) -> str | None:
            return await venue.settle(trade)

        self.state.mirror_hook = emit
        self.runner.chain_emit = mirror.emit_recorded  # a replayed transaction is one chain transaction
