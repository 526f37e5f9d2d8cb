"""A real engine against the in-process simulator, fed one leader fill at a time.

`Rig` starts the simulator (`quiet` scenario: market makers only, so the only orders it receives from
our followers are the copies), funds the own-wallet followers, starts a Supervisor on a SQLite file
(ingestion not running) and hands each test signal to `engine.handle` exactly as ingestion does
(the engine records it in `signals` in the same transaction as its copies).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import aiohttp

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key, to_micro
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.execution.eoa import EoaExecutor
from polyhunter.execution.paper import PaperExecutor
from polyhunter.runtime.run_file import RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.settings import Settings
from polyhunter.sim.orders import OrderRequest as SimOrder
from polyhunter.sim.orders import OrderType as SimOrderType
from polyhunter.sim.server_app import SimServer
from tests.support.delay_proxy import DelayProxy
from tests.support.sim_stack import admin, fund, rows, sim_settings


def sim_trade(sim: SimServer, address: str, token: str, side: Side, shares: Decimal, price: Decimal) -> None:
    """`address` trades on the simulator itself (a FOK order straight into its matching engine), as a
    leader or another market participant would; funded with collateral first if it has little."""
    state = sim.state
    if state.engine.account(address).cash < 1_000_000_000:
        state.fund_collateral(address, 10_000_000_000)
    result = state.submit(
        SimOrder(
            order_id="0x" + secrets.token_hex(32),
            owner=address,
            token_id=token,
            side=side,
            price=price,
            size=to_micro(shares),
            order_type=SimOrderType.FOK,
        )
    )
    assert result.success, result.error


def leader_address(n: int) -> str:
    return "0x" + f"{n:02x}" * 20


@dataclass
class Rig:
    sim: SimServer
    sup: Supervisor
    http: aiohttp.ClientSession
    db: Path
    markets: list[dict[str, Any]]
    on_copy: Callable[[CopyRecord], None] | None = None

    async def book(self, token: str) -> dict[str, Any]:
        async with self.http.get(self.sim.urls["clob"] + "/book", params={"token_id": token}) as resp:
            assert resp.status == 200
            book: dict[str, Any] = await resp.json()
        return book

    async def best_ask(self, token: str) -> Decimal:
        return min(Decimal(level["price"]) for level in (await self.book(token))["asks"])

    async def best_bid(self, token: str) -> Decimal:
        return max(Decimal(level["price"]) for level in (await self.book(token))["bids"])

    @property
    def paper(self) -> PaperExecutor:
        executor = self.sup.executors[CustodyMode.PAPER]
        assert isinstance(executor, PaperExecutor)
        return executor

    @property
    def eoa(self) -> EoaExecutor:
        executor = self.sup.executors[CustodyMode.EOA]
        assert isinstance(executor, EoaExecutor)
        return executor

    def token(self, market: int = 0) -> str:
        return str(self.markets[market]["tokens"][0])

    async def signal(
        self,
        leader: str,
        market: int = 0,
        *,
        size: Decimal = Decimal(50),
        price: Decimal | None = None,
        side: Side = Side.BUY,
    ) -> Signal:
        """A leader fill of `market`'s first outcome (at its current best ask for a BUY, best bid for a
        SELL, unless `price`)."""
        info = self.markets[market]
        token = info["tokens"][0]
        tx = "0x" + secrets.token_hex(32)
        now = datetime.now(UTC)
        if price is None:
            price = await self.best_ask(token) if side is Side.BUY else await self.best_bid(token)
        return Signal(
            key=signal_key(tx, leader, token, side, to_micro(size)),
            leader=leader,
            asset=token,
            condition_id=info["condition_id"],
            side=side,
            size=size,
            price=price,
            tx_hash=tx,
            fill_time=now,
            seen_at=now,
            source=SourceKind.WS,
            slug=info["slug"],
        )

    def trade(self, address: str, token: str, side: Side, shares: Decimal, price: Decimal) -> None:
        """`address` trades on the simulator itself (a FOK order straight into its matching engine), as a
        leader or another market participant would; funded with collateral first if it has none."""
        sim_trade(self.sim, address, token, side, shares, price)

    def shares_of(self, address: str, token: str) -> Decimal:
        """What the simulator's ledger says `address` holds of `token`."""
        return Decimal(self.sim.state.engine.account(address).tokens.get(token, 0)) / Decimal(1_000_000)

    async def feed(self, signal: Signal) -> list[dict[str, Any]]:
        """Hand the signal to the engine as ingestion does (the engine records it with its copies'
        prewrite before `handle` returns), wait for its copies to finish; return its copy rows."""
        await self.sup.engine.handle([signal])
        assert rows(self.db, f"SELECT key FROM signals WHERE key = '{signal.key}'")  # noqa: S608 - test data
        assert await self.sup.engine.drain(60) == 0
        assert rows(self.db, f"SELECT key FROM signals WHERE key = '{signal.key}'")  # noqa: S608 - test data
        return self.copies(signal.key)

    def copies(self, key: str) -> list[dict[str, Any]]:
        return rows(
            self.db,
            "SELECT id, config_id, state, reason, error, venue_order_id, filled_size_micro, requested_size_micro "
            f"FROM copy_trades WHERE signal_key = '{key}' ORDER BY config_id",  # noqa: S608 - test data
        )

    def events(self) -> list[dict[str, Any]]:
        return rows(self.db, "SELECT rule, config_id, signal_key, copy_trade_id FROM guardrail_events")

    async def orders(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = await admin(self.http, self.sim.urls["admin"], "GET", "/orders")
        return received

    async def faults(self, body: dict[str, Any]) -> None:
        await admin(self.http, self.sim.urls["admin"], "POST", "/faults", body)

    async def restart(self) -> None:
        """Stop the supervisor and start a new one on the same database (a process restart)."""
        await self.sup.stop()
        self.sup = Supervisor(self.sup.settings, self.sup.run_file, serve_api=False, on_copy=self.on_copy)
        await self.sup.start()


class Sections(TypedDict, total=False):
    """Settings sections a test overrides, as `rig(..., **sections)` takes them: one dict per section."""

    db: dict[str, Any]
    coord: dict[str, Any]
    venue: dict[str, Any]
    ingest: dict[str, Any]
    engine: dict[str, Any]
    guardrails: dict[str, Any]
    api: dict[str, Any]
    logging: dict[str, Any]
    secrets: dict[str, Any]


@asynccontextmanager
async def rig(
    tmp_path: Path,
    run: RunFile,
    eoa: list[str],
    proxy: DelayProxy | None = None,
    sim_options: dict[str, Any] | None = None,
    on_copy: Callable[[CopyRecord], None] | None = None,
    serve_api: bool = False,
    **sections: dict[str, Any],
) -> AsyncIterator[Rig]:
    """`sim_options`: scenario options of the simulator (e.g. `refresh_s` of its market makers)."""
    db = tmp_path / "engine.db"
    async with (
        SimServer("quiet", 7, 0, markets=3, **(sim_options or {})) as sim,
        aiohttp.ClientSession() as http,
    ):
        for address in eoa:
            await fund(http, sim.urls["admin"], address, Decimal(1000))
        scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
        urls = dict(sim.urls)
        if proxy is not None:  # the engine reaches the CLOB through the proxy
            urls["clob"] = await proxy.start(sim.urls["clob"])
        settings: Settings = sim_settings(urls, db, **sections)
        sup = Supervisor(settings, run, serve_api=serve_api, on_copy=on_copy)
        await sup.start()
        r = Rig(sim, sup, http, db, scenario["markets"], on_copy)
        try:
            yield r
        finally:
            await r.sup.stop()
            if proxy is not None:
                await proxy.stop()
