"""A tiny local websocket server whose connections run a behaviour the test sets; counts attempts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

Behaviour = Callable[[web.WebSocketResponse, int], Awaitable[None]]


class WsServer:
    """Counts upgrade attempts and connections; each connection runs the current behaviour."""

    def __init__(self) -> None:
        self.behaviour: Behaviour | None = None
        self.refuse = False
        self.attempts: list[float] = []
        self.connections = 0
        self.subscribes: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.attempts.append(time.monotonic())
        if self.refuse:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        number = self.connections
        first = await ws.receive(timeout=5)
        self.subscribes.append(str(first.data))
        if self.behaviour is not None:
            await self.behaviour(ws, number)
        if not ws.closed:
            await ws.close()
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self.handler)
        app.router.add_get("/market", self.handler)  # the CLOB market channel's path
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
