"""``polyhunter sim --port 0`` as a real subprocess: one JSON line of base URLs, then it answers."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp


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
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
        assert await proc.stdout.read() == b""  # exactly one line on stdout
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
