"""``polyhunter sim --port 0`` as a real subprocess: one JSON line of base URLs, then it answers."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp

from tests.support.paths import FIXTURES
from tests.support.processes import stop_async_process


async def test_sim_subprocess_prints_urls_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "polyhunter.cli",
        "sim",
        "--port",
        "0",
        "--scenario",
        "leaders",
        "--seed",
        "5",
        "--rate",
        "20",
        "--rate-429",
        "gamma=1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
        urls = json.loads(line)
        assert set(urls) == {"clob", "data_api", "gamma", "clob_ws", "rtds_ws", "admin"}
        async with aiohttp.ClientSession() as http:
            async with http.get(urls["clob"] + "/time") as resp:
                assert resp.status == 200
                assert isinstance(await resp.json(), int)
            async with http.get(urls["gamma"] + "/markets") as resp:  # --rate-429 gamma=1
                assert resp.status == 429
            trades: list[dict[str, object]] = []
            for _ in range(100):  # leaders trade at 20/s: rows appear within a few seconds
                async with http.get(urls["data_api"] + "/trades") as resp:
                    trades = await resp.json()
                if trades:
                    break
                await asyncio.sleep(0.1)
            assert trades
            async with http.ws_connect(urls["clob_ws"] + "/market") as ws:
                await ws.send_str("PING")
                assert (await ws.receive(timeout=5)).data == "PONG"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=120) == 0
        assert await proc.stdout.read() == b""  # exactly one line on stdout
    finally:
        await stop_async_process(proc)


async def test_sim_subprocess_replays_with_delay_and_order_faults() -> None:
    """``--replay-file``/``--replay-delay`` and the order faults ``--delayed``/``--order-version`` from
    the command line: nothing is published before the delay, then the recorded transactions are."""
    recorded = FIXTURES / "current-2026-09" / "rtds_activity_trades.json"
    hashes = {frame["payload"]["transactionHash"] for frame in json.loads(recorded.read_text())}
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "polyhunter.cli", "sim", "--port", "0", "--scenario", "replay"],
        *["--replay-file", str(recorded), "--replay-delay", "2", "--delayed", "0.5", "--order-version", "3"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=120))
        async with aiohttp.ClientSession() as http:
            async with http.get(urls["data_api"] + "/trades", params={"takerOnly": "false"}) as resp:
                assert await resp.json() == []  # still inside --replay-delay
            async with http.get(urls["clob"] + "/version") as resp:
                assert await resp.json() == {"version": 3}
            async with http.get(urls["admin"] + "/faults") as resp:
                assert (await resp.json())["delayed_s"] == 0.5
            trades: list[dict[str, object]] = []
            for _ in range(100):
                async with http.get(urls["data_api"] + "/trades", params={"takerOnly": "false"}) as resp:
                    trades = await resp.json()
                if trades:
                    break
                await asyncio.sleep(0.1)
            assert {t["transactionHash"] for t in trades} == hashes
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=120) == 0
    finally:
        await stop_async_process(proc)
