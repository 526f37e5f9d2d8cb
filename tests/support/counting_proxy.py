"""An HTTP proxy in a thread of its own that forwards everything to one upstream and logs each
``GET /activity`` it forwards: (monotonic time, ``user``). One per worker in front of the simulator's Data
API tells which worker polled which leader when (tests/e2e/test_cluster_ingest_shards.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiohttp import web

from tests.support.delay_proxy import HOP_HEADERS


class ActivityLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[tuple[float, str]] = []

    def add(self, user: str) -> None:
        with self._lock:
            self._requests.append((time.monotonic(), user.lower()))

    def between(self, start: float, end: float) -> list[tuple[float, str]]:
        with self._lock:
            return [(t, u) for t, u in self._requests if start <= t <= end]


@contextmanager
def counting_proxy(host: str, upstream: str) -> Iterator[tuple[str, ActivityLog]]:
    """Until the block ends: the proxy's URL (listening on `host`) and its log of /activity requests."""
    log = ActivityLog()
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        async with aiohttp.ClientSession() as client:

            async def handle(request: web.Request) -> web.Response:
                body = await request.read()
                if request.path == "/activity":
                    log.add(request.query.get("user", ""))
                headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
                async with client.request(
                    request.method, upstream + request.path_qs, data=body, headers=headers
                ) as resp:
                    data = await resp.read()
                    return web.Response(body=data, status=resp.status, content_type=resp.content_type)

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handle)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            ready.append(f"http://{host}:{runner.addresses[0][1]}")
            started.set()
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30), "the counting proxy did not start"
    try:
        yield ready[0], log
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
