"""`polyhunter demo`: the simulator's `leaders` scenario, two demo followers, the whole pipeline.

One follower trades on paper, the other with its own generated key (funded on the simulator, orders
signed and posted to the simulator's CLOB). Runs on SQLite (a fresh file under ./var/demo/) with
in-memory coordination, shows a live view (or one JSON summary with --json) and stops after
--duration seconds or Ctrl-C.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
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

log = get_logger(__name__)

START_CASH = Decimal(1000)


def _followers(leaders: list[str], eoa_key: str) -> RunFile:
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
    return RunFile(
        followers=[
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


def demo_settings(base: Settings, urls: Mapping[str, str], db_path: Path) -> Settings:
    """``base`` pointed at the simulator at ``urls`` with a SQLite file: memory coordination, HYBRID without
    the chain, the API on a free port (the demo's settings, and the tests' against the simulator)."""
    data = base.model_dump()
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


def _intro(eoa_address: str, leaders: list[str]) -> str:
    return (
        f"Demo followers: demo-paper trades on paper ({START_CASH} USDC); demo-wallet is an own wallet "
        f"({short_address(eoa_address)}, a key generated for this demo, funded with {START_CASH} USDC on "
        f"the simulator). Both copy the simulator's {len(leaders)} leaders."
    )


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
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    db_path = workdir / f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}-{seed}.db"
    view = LiveLog(title="PolyHunter demo", starting_cash=START_CASH)
    eoa_key = "0x" + secrets.token_hex(32)
    async with venue as sim:
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
        settings = demo_settings(base, sim.urls, db_path)
        view.intro = _intro(address_from_private_key(eoa_key), leaders)
        sup = Supervisor(settings, _followers(leaders, eoa_key), on_copy=view.add)
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
                if as_json:
                    print(summary_json(result))  # noqa: T201 - the command's output
                else:
                    print(summary_text(result))  # noqa: T201 - the command's output
                return result
            finally:
                await sup.stop()
