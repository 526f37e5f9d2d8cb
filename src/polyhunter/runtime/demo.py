"""`polyhunter demo`: the simulator's `leaders` scenario, two demo followers, the whole pipeline.

One follower trades on paper, the other with its own generated key (funded on the simulator, orders
signed and posted to the simulator's CLOB). Runs on SQLite (a fresh file under ./var/demo/) with
in-memory coordination, shows a live view (or one JSON summary with --json) and stops after
--duration seconds or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from array import array
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr

from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.log import get_logger
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.settings import Settings

log = get_logger(__name__)

START_CASH = Decimal(1000)
# Latency and slippage percentiles of the summary are over the most recent copies.
SUMMARY_WINDOW = 10_000
PNL_REFRESH_S = 2.0


class FloatWindow:
    """The last `size` values, in preallocated doubles (a long demo's memory stays flat from the start)."""

    __slots__ = ("_count", "_values")

    def __init__(self, size: int) -> None:
        self._values = array("d", bytes(8 * size))
        self._count = 0

    def append(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._values))

    def __iter__(self) -> Iterator[float]:
        return iter(self._values[: len(self)])


@dataclass(slots=True)
class DemoLog:
    recent: deque[CopyRecord] = field(default_factory=lambda: deque(maxlen=15))
    slippage_ticks: FloatWindow = field(default_factory=lambda: FloatWindow(SUMMARY_WINDOW))
    names: dict[int, str] = field(default_factory=dict)
    pnl: dict[str, Decimal] = field(default_factory=dict)  # by follower name, refreshed by the live loop
    custody: dict[str, str] = field(default_factory=dict)  # by follower name: its custody type's label

    def add(self, record: CopyRecord) -> None:
        self.recent.append(record)
        if record.slippage_ticks is not None:
            self.slippage_ticks.append(float(record.slippage_ticks))


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


def _demo_settings(base: Settings, urls: dict[str, str], db_path: Path) -> Settings:
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


async def follower_pnl(sup: Supervisor) -> dict[str, Decimal]:
    """Each follower's PnL in USDC: equity (cash + positions at the current midpoint, or at the Data
    API's value for the wallet; see each custody type's `equity`) less its starting cash."""
    return await sup.queries.pnl_per_follower(START_CASH)


def reason_class(reason: str) -> str:
    """A copy's reason without the id it may carry (`AGGREGATED_INTO_108` counts as
    `AGGREGATED_INTO`), so the summary counts kinds of outcome, not single copies."""
    head, sep, tail = reason.rpartition("_")
    return head if sep and tail.isdigit() else reason


async def summary(sup: Supervisor, demo: DemoLog, started: float) -> dict[str, Any]:
    queries = sup.queries
    by_state: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for row in await queries.copy_counts():
        by_state[row.state] += row.count
        if row.reason:
            by_reason[f"{row.state}:{reason_class(row.reason)}"] += row.count
    stage = queries.stage("signal_to_submit")
    pnl = {name: str(value) for name, value in (await follower_pnl(sup)).items()}
    slip = demo.slippage_ticks
    return {
        "duration_s": round(time.monotonic() - started, 1),
        "signals": queries.totals()[0],
        "signals_recorded": queries.signals_recorded(),
        "copies": dict(by_state),
        "copies_by_reason": dict(by_reason),
        "signal_to_submit_ms": {
            "count": stage.count if stage else 0,
            "p50": round(stage.p50_ms, 3) if stage else None,
            "p99": round(stage.p99_ms, 3) if stage else None,
        },
        "mean_slippage_ticks": float(statistics.fmean(slip)) if slip else None,
        "pnl_usdc": pnl,
        "ingest": queries.ingest(),
    }


def _render(demo: DemoLog, signals: int, copies: int) -> Any:
    """The live view: the most recent copies (with signal-to-submit latency: from the leader's fill
    reaching us to our order's submit) and each follower's PnL."""
    from rich.console import Group
    from rich.table import Table

    table = Table(title=f"PolyHunter demo — signals {signals}, copies {copies}")
    for col in (
        "time",
        "follower",
        "side",
        "shares",
        "price",
        "leader",
        "slip (ticks)",
        "signal→submit ms",
        "state",
    ):
        table.add_column(col)
    for r in list(demo.recent)[::-1]:
        table.add_row(
            r.at.strftime("%H:%M:%S"),
            demo.names.get(r.user_id, str(r.user_id)),
            str(r.side),
            f"{r.shares:.2f}",
            f"{r.price:.4f}" if r.price else "",
            f"{r.leader_price}",
            f"{r.slippage_ticks:.2f}" if r.slippage_ticks is not None else "",
            f"{r.signal_to_submit_ms:.1f}" if r.signal_to_submit_ms is not None else "",
            str(r.state) + (f" {r.reason}" if r.reason and str(r.state) != "EXECUTED" else ""),
        )
    pnl = Table(title="PnL per follower (USDC)")
    pnl.add_column("follower")
    pnl.add_column("custody")
    pnl.add_column("PnL", justify="right")
    for name in sorted(demo.pnl):
        pnl.add_row(name, demo.custody.get(name, ""), f"{demo.pnl[name]:+.4f}")
    return Group(table, pnl)


def _counts(sup: Supervisor) -> tuple[int, int]:
    return sup.queries.totals()


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
    demo = DemoLog()
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
        settings = _demo_settings(base, sim.urls, db_path)
        sup = Supervisor(settings, _followers(leaders, eoa_key), on_copy=demo.add)
        started = time.monotonic()
        await sup.start()
        demo.names = sup.queries.follower_names()
        demo.custody = sup.queries.follower_custody()
        with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
            try:
                if as_json:
                    await sup.run(duration_s, stop_after=False, stop=shutdown.requested)
                    result = await summary(sup, demo, started)
                    print(json.dumps(result, indent=2, default=str))  # noqa: T201 - the command's output
                    return result
                return await _run_live(sup, demo, duration_s, started, shutdown.requested)
            finally:
                await sup.stop()


async def _run_live(
    sup: Supervisor, demo: DemoLog, duration_s: float | None, started: float, stop: asyncio.Event
) -> dict[str, Any]:
    from rich.console import Console
    from rich.live import Live

    console = Console()
    runner = asyncio.create_task(sup.run(duration_s, stop_after=False, stop=stop))
    next_pnl = 0.0
    with Live(_render(demo, *_counts(sup)), console=console, refresh_per_second=4) as live:
        while not runner.done():
            if time.monotonic() >= next_pnl:  # marks and the wallet's positions: every 2 s, not every frame
                next_pnl = time.monotonic() + PNL_REFRESH_S
                try:
                    demo.pnl = await follower_pnl(sup)
                except Exception as exc:  # noqa: BLE001 - the view keeps the last PnL it had
                    log.warning("demo PnL refresh failed", error=str(exc))
            live.update(_render(demo, *_counts(sup)))
            await asyncio.sleep(0.25)
    result = await summary(sup, demo, started)
    runner.result()
    console.print_json(json.dumps({k: v for k, v in result.items() if k != "ingest"}, default=str))
    return result
