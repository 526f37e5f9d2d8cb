"""Simulator REST round trips over loopback: GET /book and POST /order (signed, L2-authenticated).

    uv run --frozen python benchmarks/bench_sim_rest.py [--quick] [--json]

The simulator runs in a background thread with its own event loop (as it would in its own
process); the client sends requests one at a time over one keep-alive connection and times each
round trip. POST /order bodies are signed before timing starts (signing is measured in
bench_signing.py); each order is a resting GTC BUY below the book, so the engine admits and rests
it without matching. Numbers are milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from polyhunter.adapters.polymarket.auth import ApiCreds, l1_headers, l2_headers
from polyhunter.adapters.polymarket.order_signer import OrderSigner, exchange_domain, order_to_wire_json
from polyhunter.domain.signal import Side
from polyhunter.log import configure_logging
from polyhunter.sim.server_app import SimServer

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class _ServerThread:
    """A SimServer on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = SimServer(scenario="quiet", seed=1, port=0, markets=2)
        self._thread = threading.Thread(target=self.loop.run_forever, name="sim-server", daemon=True)

    def __enter__(self) -> SimServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=60)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


def _summary(samples: list[float]) -> dict[str, Any]:
    data = sorted(samples)
    pick: Callable[[float], float] = lambda q: round(data[min(len(data) - 1, int(q * (len(data) - 1)))], 3)  # noqa: E731
    return {
        "count": len(data),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": round(data[-1], 3),
        "mean_ms": round(statistics.fmean(data), 3),
    }


async def _client(urls: dict[str, str], token: str, neg_risk: bool, n: int) -> dict[str, Any]:
    signer = OrderSigner(KEY)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
        async with http.post(urls["clob"] + "/auth/api-key", headers=l1_headers(KEY, 137)) as resp:
            body = await resp.json()
        creds = ApiCreds(body["apiKey"], body["secret"], body["passphrase"])
        fund = {"address": signer.address, "collateral": str(n * 10)}
        async with http.post(urls["admin"] + "/fund", json=fund) as resp:
            assert resp.status == 200
        domain = exchange_domain(137, 2, neg_risk)
        bodies = []
        for i in range(n):
            order = signer.build(
                maker=None,
                token_id=int(token),
                maker_amount=500_000,
                taker_amount=5_000_000,
                side=Side.BUY,
                salt=i + 1,
            )
            wire = order_to_wire_json(signer.sign(order, domain), creds.api_key, "GTC")
            bodies.append(json.dumps(wire, separators=(",", ":")))

        book_ms: list[float] = []
        for _ in range(20):  # warm-up
            async with http.get(urls["clob"] + "/book", params={"token_id": token}) as resp:
                await resp.read()
        for _ in range(n):
            t0 = time.perf_counter()
            async with http.get(urls["clob"] + "/book", params={"token_id": token}) as resp:
                await resp.read()
            book_ms.append((time.perf_counter() - t0) * 1000)

        order_ms: list[float] = []
        for text in bodies:
            headers = l2_headers(signer.address, creds, "POST", "/order", text)
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            async with http.post(urls["clob"] + "/order", data=text, headers=headers) as resp:
                result = await resp.json()
            order_ms.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200 or result.get("status") != "live":
                raise RuntimeError(f"order rejected: {result}")
    return {"get_book": _summary(book_ms), "post_order": _summary(order_ms)}


def run(quick: bool = False) -> dict[str, Any]:
    n = 200 if quick else 2000
    with _ServerThread() as server:
        info = next(i for i in server.state.catalog if not i.market.neg_risk)
        results = asyncio.run(_client(server.urls, info.market.tokens[0], info.market.neg_risk, n))
    return {
        "benchmark": "sim_rest",
        "requests_per_endpoint": n,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 requests per endpoint instead of 2000")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout carries only the results
    result = run(args.quick)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"simulator REST over loopback, {result['requests_per_endpoint']} sequential requests per endpoint")
    for name in ("get_book", "post_order"):
        s = result[name]
        print(
            f"  {name:<11} p50 {s['p50_ms']:.3f} ms  p90 {s['p90_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms  max {s['max_ms']:.3f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
