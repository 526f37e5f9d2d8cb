"""A forwarding HTTP proxy on 127.0.0.1 that can hold POST /order before or after the venue sees it.

`hold_before_s`: the request is read in full, held, then forwarded (the client may have given up:
the venue still gets the order, later). `hold_after_s`: forwarded at once, the venue's answer is
held before it goes back. `hide_orders`: the venue's order records are not found (its trade
records still are). Every other request passes straight through; `requests` counts them all by path.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass
class DelayProxy:
    upstream: str = ""
    hold_before_s: float = 0.0
    hold_after_s: float = 0.0
    url: str = ""
    forwarded_orders: int = 0
    requests: Counter[str] = field(default_factory=Counter)  # by path
    orders_in_flight: int = 0  # POST /order requests being handled now
    max_orders_in_flight: int = 0
    hide_orders: bool = False  # answer GET /data/order/{id} with 404 (a venue whose order record is gone)
    _runner: web.AppRunner | None = None
    _client: aiohttp.ClientSession | None = None
    _held: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, upstream: str) -> str:
        self.upstream = upstream
        self._client = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()  # all of it, before any hold: the venue will get the whole order
        self.requests[request.path] += 1
        is_order = request.method == "POST" and request.path == "/order"
        if self.hide_orders and request.method == "GET" and request.path.startswith("/data/order/"):
            return web.json_response({"error": "order not found"}, status=404)
        if is_order:
            self.orders_in_flight += 1
            self.max_orders_in_flight = max(self.max_orders_in_flight, self.orders_in_flight)
        try:
            return await self._forward(request, body, is_order)
        finally:
            if is_order:
                self.orders_in_flight -= 1

    async def _forward(self, request: web.Request, body: bytes, is_order: bool) -> web.Response:
        if is_order and self.hold_before_s:
            await asyncio.sleep(self.hold_before_s)
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._client.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as resp:
            data = await resp.read()
            status, content_type = resp.status, resp.content_type
        if is_order:
            self.forwarded_orders += 1
            if self.hold_after_s:
                await asyncio.sleep(self.hold_after_s)
        return web.Response(body=data, status=status, content_type=content_type)
