"""`polyhunter run` processes against a `polyhunter sim` process (the `leaders` scenario: leader fills
arrive on their own), on a PostgreSQL database of the test's own reached through a stalling TCP proxy,
for the fault tests (issue 13 item 5): what the simulator filled for the leaders, what the engines
recorded, and the checks that nothing was lost, duplicated or spent past a cap."""

from __future__ import annotations

import asyncio
import json
import subprocess  # noqa: S404 - the simulator process
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from polyhunter.secretbox import generate_master_key
from tests.support.cli_runs import admin
from tests.support.pg_databases import PG_HOST
from tests.support.processes import stop_process
from tests.support.sim_stack import follower_key, sim_env

CLI = [sys.executable, "-m", "polyhunter.cli"]
READY_S = 90
MASTER_KEY = generate_master_key()
COPY_USDC = Decimal(2)
CAPS = {"cap-a": Decimal(24), "cap-b": Decimal(40)}
EOA_KEY, EOA_MAKER = follower_key("faults", 0)  # cap-a signs real orders at the simulator; cap-b is PAPER
KEY_ENV = "PH_FAULT_KEY_A"

_FOLLOWER = '[[followers]]\nname = "{name}"\n{custody}\n[followers.limits]\ndaily_cap_usdc = "{cap}"\n'
_CUSTODY = {"cap-a": f'custody = "EOA"\nprivate_key_env = "{KEY_ENV}"', "cap-b": 'custody = "PAPER"'}
_COPY = '[[followers.copies]]\nleader = "{leader}"\nsizing = "FIXED_USDC"\nsizing_value = "{usdc}"\n'


def run_file_text(leaders: list[str]) -> str:
    """Two followers with daily caps (one EOA, one PAPER), each copying every leader with a fixed notional."""
    out = []
    for name, cap in CAPS.items():
        out.append(_FOLLOWER.format(name=name, custody=_CUSTODY[name], cap=cap))
        out += [_COPY.format(leader=leader, usdc=COPY_USDC) for leader in leaders]
    return "\n".join(out)


@contextmanager
def sim_process(tmp: Path, *, seed: int, rate: float) -> Iterator[dict[str, str]]:
    cmd = [*CLI, "sim", "--port", "0", "--scenario", "leaders", "--seed", str(seed), "--rate", str(rate)]
    with (tmp / "sim.log").open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
        try:
            assert proc.stdout is not None
            urls: dict[str, str] = json.loads(proc.stdout.readline())
            admin(urls["admin"], "/fund", {"address": EOA_MAKER, "collateral": "100000"})
            yield urls
        finally:
            stop_process(proc, timeout_s=30)


def engine_env(urls: dict[str, str], db_url: str, redis: tuple[str, str] | None = None) -> dict[str, str]:
    """The environment of a `polyhunter run` on `db_url`, with the shared Redis `(url, prefix)` if given."""
    env = sim_env(
        urls,
        db_url,
        INGEST__POLL_INTERVAL_MS="1000",
        ENGINE__PENDING_TTL_S="5",
        SECRETS__MASTER_KEY=MASTER_KEY,
    )
    env[KEY_ENV] = EOA_KEY
    if redis is not None:
        env["POLYHUNTER__COORD__BACKEND"] = "redis"
        env["POLYHUNTER__COORD__REDIS_URL"] = redis[0]
        env["POLYHUNTER__COORD__KEY_PREFIX"] = redis[1]
    return env


async def start_engine(run_file: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:  # noqa: ASYNC230 - opening the log file the child writes to
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "run",
            "--config",
            str(run_file),
            env=env,
            cwd=run_file.parent,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_S
    while b"api listening" not in await asyncio.to_thread(log.read_bytes):
        assert proc.returncode is None, f"engine exited ({proc.returncode}); see {log}"
        assert time.monotonic() < deadline, f"engine not ready after {READY_S}s; see {log}"
        await asyncio.sleep(0.2)
    return proc


async def wait_for(check: Callable[[], Awaitable[bool]], limit_s: float, what: str) -> float:
    """Poll `check` until it holds; return the seconds it took. Fails after `limit_s`."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < limit_s, f"not within {limit_s}s: {what}"
        await asyncio.sleep(0.25)
    return time.monotonic() - start


def pg_url(port: int, name: str) -> str:
    return f"postgresql+asyncpg://127.0.0.1:{port}/{name}"


def shared_dsn(name: str) -> str:
    """The DSN of the test's database `name` on the shared server, reached directly (not through a proxy)."""
    return f"postgresql://{PG_HOST}/{name}"


async def pg_rows(dsn: str, sql: str) -> list[dict[str, Any]]:
    """Read the test's database directly (not through the proxy)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def leader_fills(data_api: str, leaders: list[str]) -> set[tuple[str, str, str, str]]:
    """Every fill the simulator made for the leaders: (leader, tx hash, asset, side)."""
    out: set[tuple[str, str, str, str]] = set()
    async with aiohttp.ClientSession() as http:
        for leader in leaders:
            params = {"user": leader, "limit": "10000"}
            async with http.get(data_api + "/trades", params=params) as resp:
                assert resp.status == 200, await resp.text()
                for row in await resp.json():
                    out.add((leader.lower(), row["transactionHash"].lower(), str(row["asset"]), row["side"]))
    return out


async def fill_rows(data_api: str, leaders: list[str]) -> list[dict[str, Any]]:
    """The simulator's trade rows of the leaders (for a failure message)."""
    out: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        for leader in leaders:
            async with http.get(data_api + "/trades", params={"user": leader, "limit": "10000"}) as resp:
                out += await resp.json()
    return out


async def recorded(dsn: str) -> set[tuple[str, str, str, str]]:
    found = await pg_rows(dsn, "SELECT leader, tx_hash, asset, side::text AS side FROM signals")
    return {(r["leader"].lower(), r["tx_hash"].lower(), r["asset"], r["side"]) for r in found}


# Each follower's BUY spend per UTC day in micro-USDC (`name`, `day`, `spent`): what filled, and what a
# PENDING copy with an order may have spent (one without an order never reached the venue).
SPENT_SQL = (
    "SELECT u.username AS name, (ct.created_at AT TIME ZONE 'UTC')::date AS day, SUM(CASE WHEN ct.state = "
    "'EXECUTED' AND ct.filled_size_micro IS NOT NULL THEN ct.filled_size_micro * ct.filled_price_micro "
    "/ 1000000 ELSE ct.requested_notional_micro END) AS spent FROM copy_trades ct JOIN users u "
    "ON u.id = ct.user_id WHERE ct.side = 'BUY' AND (ct.state IN ('EXECUTED', 'SETTLEMENT_PENDING') "
    "OR (ct.state = 'PENDING' AND EXISTS (SELECT 1 FROM orders o WHERE o.copy_trade_id = ct.id))) "
    "GROUP BY u.username, day"
)


@dataclass
class FaultReport:
    fills: int
    signals: int
    lost: int
    duplicate_copies: int
    duplicate_orders: int
    venue_orders: int  # the EOA follower's orders the simulator received
    pending: int  # copies still PENDING at the end (in flight, parked, or left to the sweep)
    spend: dict[str, Decimal]

    def line(self) -> str:
        caps = ", ".join(f"{n} {s} <= {CAPS[n]}" for n, s in sorted(self.spend.items()))
        return (
            f"fills={self.fills} signals={self.signals} lost={self.lost} "
            f"duplicate_copies={self.duplicate_copies} venue_orders={self.venue_orders} "
            f"duplicate_orders={self.duplicate_orders} pending_left={self.pending} spend: {caps}"
        )


async def check_run(dsn: str, fills: set[tuple[str, str, str, str]], admin_url: str) -> FaultReport:
    """Nothing lost (every fill has its signal row), no copy twice per (signal, config), no order at the
    venue twice, no follower's BUY spend of the day past its cap: what filled, and what a PENDING copy
    may have spent (one with an order). A PENDING copy with no order never spent anything: a killed
    supervisor's unsent copies (its prewrite may even reach the database after its death) stay PENDING
    until the sweep expires them, and copies parked below the venue minimum hold nothing."""
    signals = await recorded(dsn)
    dup_copies = await pg_rows(
        dsn,
        "SELECT signal_key, config_id, count(*) AS n FROM copy_trades GROUP BY signal_key, config_id "
        "HAVING count(*) > 1",
    )
    async with aiohttp.ClientSession() as http, http.get(admin_url + "/orders") as resp:
        venue = [o for o in await resp.json() if str(o["order"].get("maker", "")).lower() == EOA_MAKER]
    dup_orders = sum(n - 1 for n in Counter(o["orderID"] for o in venue).values() if n > 1)
    copy_of = {
        r["venue_order_id"]: r["copy_trade_id"]
        for r in await pg_rows(dsn, "SELECT venue_order_id, copy_trade_id FROM orders")
    }
    matched = Counter(copy_of.get(o["orderID"]) for o in venue if o["accepted"] and o["status"] == "matched")
    dup_orders += sum(n - 1 for c, n in matched.items() if c is not None and n > 1)  # a copy filled twice
    spent = await pg_rows(dsn, SPENT_SQL)
    pending = await pg_rows(dsn, "SELECT count(*) AS n FROM copy_trades WHERE state = 'PENDING'")
    spend: dict[str, Decimal] = {}
    for r in spent:
        spend[r["name"]] = max(spend.get(r["name"], Decimal(0)), Decimal(int(r["spent"])) / 1_000_000)
    return FaultReport(
        fills=len(fills),
        signals=len(signals),
        lost=len(fills - signals),
        duplicate_copies=len(dup_copies),
        duplicate_orders=dup_orders,
        venue_orders=len(venue),
        pending=int(pending[0]["n"]),
        spend=spend,
    )


def assert_clean(report: FaultReport) -> None:
    assert report.lost == 0, report.line()
    assert report.duplicate_copies == 0, report.line()
    assert report.duplicate_orders == 0, report.line()
    assert report.venue_orders > 0, report.line()  # the EOA follower's copies reached the venue
    for name, total in report.spend.items():
        assert total <= CAPS[name], report.line()
