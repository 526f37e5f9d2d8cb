"""`polyhunter demo`: the simulator's `leaders` scenario, two demo followers, the whole pipeline.

One follower trades on paper, another with its own generated key (funded on the simulator, orders
signed and posted to the simulator's CLOB) and, when the chain tools are installed (`make node`: anvil;
the simulator then runs in chain mode, its money on anvil), a PROXY follower: its money in a proxy
contract, fleet workers trading for it on the simulator's CLOB with their float, its copies settled on
chain (the summary shows its settled copies, its ledger and its debt), and a DIRECT follower: its proxy is
the maker of its own orders (a worker signs for it), the exchange settles them from the proxy, the
platform's commission is paid from it to the treasury in batches (the summary shows its copies and
commission); without anvil the summary says they did not run. Runs on SQLite (a fresh file under ./var/demo/) with
in-memory coordination, shows a live view (or one JSON summary with --json) and stops after
--duration seconds or Ctrl-C.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr

from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.log import get_logger
from polyhunter.runtime.live_view import (
    LiveLog,
    short_address,
    summary,
    summary_json,
    summary_text,
    watch,
)
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.settings import Settings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.master_key import open_secret_box
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository

log = get_logger(__name__)

START_CASH = Decimal(1000)
PROXY_FEES: dict[str, object] = {"fee_bps": 50, "profit_share_bps": 1_000, "flush_interval_s": 2.0}


@dataclass(frozen=True, slots=True)
class ProxyDemo:
    """The demo's PROXY follower, set up by the demo command on anvil: the chain node, the follower's proxy,
    the ``[proxy]`` settings of the contracts and the fleet workers (address, key, float in base units)."""

    rpc_url: str
    proxy: str
    contracts: dict[str, object]
    fleet: list[tuple[str, str, int]] = field(repr=False)
    direct_proxy: str = ""  # the DIRECT follower's proxy (none: no DIRECT follower)


# (the simulator's URLs, every market token) -> the PROXY follower's set-up, torn down on exit
ProxySetup = Callable[[dict[str, str], list[str]], AbstractAsyncContextManager[ProxyDemo]]


async def register_fleet(settings: Settings, fleet: list[tuple[str, str, int]]) -> None:
    """The fleet workers in the demo's database (keys encrypted), before the engine builds its executors."""
    await migrate.upgrade(settings.db)
    engine = create_engine(settings.db, pooled=False)
    try:
        sessions = create_session_factory(engine)
        box = await open_secret_box(settings.secrets, sessions)
        async with unit_of_work(sessions) as session:
            for address, key, float_micro in fleet:
                wallet_id = await WalletRepository(session, box).create(
                    address, WalletKind.FLEET, private_key=key
                )
                await SettlementRepository(session).add_worker(wallet_id, float_micro)
    finally:
        await engine.dispose()


def _followers(leaders: list[str], eoa_key: str, proxy: ProxyDemo | None = None) -> RunFile:
    copies_paper = [
        CopySpec(leader=a, sizing="FIXED_USDC", sizing_value=Decimal(5), max_trade_usdc=Decimal(25))
        for a in leaders
    ]
    copies_eoa = [
        CopySpec(
            leader=a,
            sizing="PERCENT_OF_LEADER",
            sizing_value=Decimal(5),
            max_trade_usdc=Decimal(20),
            max_slippage_bps=300,
        )
        for a in leaders
    ]
    proxied = []
    if proxy is not None:
        copies_proxy = [
            CopySpec(leader=a, sizing="FIXED_USDC", sizing_value=Decimal(5), max_trade_usdc=Decimal(25))
            for a in leaders
        ]
        proxied.append(
            FollowerSpec(name="demo-proxy", custody=CustodyMode.PROXY, proxy=proxy.proxy, copies=copies_proxy)
        )
        if proxy.direct_proxy:
            proxied.append(
                FollowerSpec.model_validate(
                    {
                        "name": "demo-direct",
                        "custody": "DIRECT",
                        "proxy": proxy.direct_proxy,
                        "copies": copies_proxy,
                    }
                )
            )
    return RunFile(
        followers=[
            *proxied,
            FollowerSpec(
                name="demo-paper",
                custody=CustodyMode.PAPER,
                starting_cash_usdc=START_CASH,
                copies=copies_paper,
            ),
            FollowerSpec(
                name="demo-wallet",
                custody=CustodyMode.EOA,
                private_key=SecretStr(eoa_key),
                copies=copies_eoa,
            ),
        ]
    )


def demo_settings(
    base: Settings, urls: Mapping[str, str], db_path: Path, proxy: ProxyDemo | None = None
) -> Settings:
    """``base`` pointed at the simulator at ``urls`` with a SQLite file: memory coordination, HYBRID without
    the chain, the API on a free port, and ``proxy``'s chain and contracts if given (the demo's settings,
    and the tests' against the simulator)."""
    data = base.model_dump()
    if proxy is not None:
        data["venue"]["chain_rpc_url"] = proxy.rpc_url
        data["proxy"].update({**PROXY_FEES, **proxy.contracts})
    data["venue"].update(
        clob_url=urls["clob"],
        data_api_url=urls["data_api"],
        gamma_url=urls["gamma"],
        clob_ws_url=urls["clob_ws"],
        rtds_ws_url=urls["rtds_ws"],
    )
    data["db"]["url"] = f"sqlite+aiosqlite:///{db_path}"
    data["coord"]["backend"] = "memory"
    data["ingest"].update(mode="HYBRID", chain_in_hybrid=False, poll_interval_ms=1000, replay_window_s=600)
    data["api"]["port"] = 0
    data["engine"]["metrics_interval_ms"] = 3_600_000
    return Settings.model_validate(data)


async def _admin(session: aiohttp.ClientSession, url: str, method: str, path: str, body: Any = None) -> Any:
    async with session.request(method, url + path, json=body) as resp:
        resp.raise_for_status()
        return await resp.json()


def _intro(eoa_address: str, leaders: list[str], proxy: ProxyDemo | None, proxy_note: str) -> str:
    text = (
        f"Demo followers: demo-paper trades on paper ({START_CASH} USDC); demo-wallet is an own wallet "
        f"({short_address(eoa_address)}, a key generated for this demo, funded with {START_CASH} USDC on "
        f"the simulator)"
    )
    if proxy is not None:
        text += (
            f"; demo-proxy's money is in its proxy {short_address(proxy.proxy)} on a local anvil chain, "
            f"{len(proxy.fleet)} fleet workers trade for it on their float and settle with it on chain"
        )
        if proxy.direct_proxy:
            text += (
                f"; demo-direct's proxy {short_address(proxy.direct_proxy)} makes its own orders (DIRECT: "
                "a worker signs, the exchange settles from the proxy, the commission goes to the treasury)"
            )
    text += f". All copy the simulator's {len(leaders)} leaders."
    if proxy_note:
        text += f"\nPROXY follower: {proxy_note}"
    return text


DEMO_ACCOUNT = "demo"


async def _dashboard_link(sup: Supervisor) -> str:
    """The dashboard's URL, signed in as the demo account (which owns the demo followers): a bearer
    token in the fragment, which the page trades for a browser session."""
    auth, api = sup.app.auth, sup.api
    if auth is None or api is None:
        return "(no API in this run)"
    account_id = await auth.ensure_account(DEMO_ACCOUNT, secrets.token_urlsafe(24))
    await auth.adopt(account_id, [f.user_id for f in sup.followers])
    return f"{api.url}/#token={await auth.token_for(account_id, 'demo link')}"


class DemoVenue(Protocol):
    """The venue the demo copies on (the simulator, which the `demo` command starts): its base URLs
    once entered (`clob`, `data_api`, `gamma`, `clob_ws`, `rtds_ws`, `admin`)."""

    urls: dict[str, str]


async def run_demo(
    base: Settings,
    venue: AbstractAsyncContextManager[DemoVenue],
    *,
    duration_s: float | None,
    as_json: bool,
    seed: int,
    workdir: Path,
    proxy_setup: ProxySetup | None = None,
    proxy_note: str = "",
) -> dict[str, Any]:
    """``proxy_setup`` (when anvil is at hand) adds the PROXY follower; otherwise ``proxy_note`` says why not."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    db_path = workdir / f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}-{seed}.db"
    view = LiveLog(title="PolyHunter demo", starting_cash=START_CASH)
    eoa_key = "0x" + secrets.token_hex(32)
    async with venue as sim, AsyncExitStack() as stack:
        async with aiohttp.ClientSession() as http:
            scenario = await _admin(http, sim.urls["admin"], "GET", "/scenario")
            leaders = [leader["address"] for leader in scenario["leaders"]]
            await _admin(
                http,
                sim.urls["admin"],
                "POST",
                "/fund",
                {"address": address_from_private_key(eoa_key), "collateral": str(START_CASH)},
            )
        proxy = None
        if proxy_setup is not None:
            tokens = [str(t) for m in scenario["markets"] for t in m["tokens"]]
            proxy = await stack.enter_async_context(proxy_setup(sim.urls, tokens))
        settings = demo_settings(base, sim.urls, db_path, proxy)
        if proxy is not None:
            await register_fleet(settings, proxy.fleet)
        view.intro = _intro(address_from_private_key(eoa_key), leaders, proxy, proxy_note)
        sup = Supervisor(settings, _followers(leaders, eoa_key, proxy), on_copy=view.add)
        started = time.monotonic()
        await sup.start()
        link = await _dashboard_link(sup)
        view.intro += f"\nDashboard (signed in as {DEMO_ACCOUNT}): {link}"
        print(f"Dashboard: {link}", file=sys.stderr if as_json else sys.stdout, flush=True)  # noqa: T201
        view.bind(sup.queries)
        with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
            try:
                running = sup.run(duration_s, stop_after=False, stop=shutdown.requested)
                if as_json:
                    await running
                else:
                    await watch(sup.queries, view, running, live=True)
                result = await summary(sup.queries, view, started)
                if proxy_note:
                    result["proxy_note"] = proxy_note
                if as_json:
                    print(summary_json(result))  # noqa: T201 - the command's output
                else:
                    print(summary_text(result))  # noqa: T201 - the command's output
                return result
            finally:
                await sup.stop()
