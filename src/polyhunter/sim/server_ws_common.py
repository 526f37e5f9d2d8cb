"""Websocket plumbing shared by the market, user and RTDS channels.

Each connection gets an outgoing queue and one writer task, so publishing from the engine's event
fan-out never blocks on a slow client. The writer applies the silence fault (frames are dropped
while ``Faults.ws_silent()``), and :class:`WsRegistry` closes every socket for the drop fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from polyhunter.sim.faults import Faults

__all__ = ["WsConnection", "WsRegistry", "json_messages"]

_QUEUE_LIMIT = 10_000


async def json_messages(ws: web.WebSocketResponse, conn: WsConnection) -> AsyncGenerator[Any]:
    """The JSON messages a client sends, read as the venue reads them: frames that are not text ignored,
    ``PING`` answered ``PONG``, text that is not JSON answered ``{"error": "Invalid request body"}``."""
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        text = msg.data.strip()
        if text == "PING":
            conn.send("PONG")
            continue
        try:
            data = json.loads(text)
        except ValueError:
            conn.send(json.dumps({"error": "Invalid request body"}))
            continue
        yield data


class WsConnection:
    """One open websocket with a bounded send queue (a client that lags 10k frames is dropped)."""

    def __init__(self, ws: web.WebSocketResponse, faults: Faults) -> None:
        self.ws = ws
        self._faults = faults
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=_QUEUE_LIMIT)
        self._writer = asyncio.create_task(self._write_loop())
        self.closed = False

    def send(self, text: str) -> None:
        """Queue one text frame (non-blocking)."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.closed = True
            asyncio.get_running_loop().create_task(self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER))

    async def _write_loop(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None:
                return
            if self._faults.ws_silent() or self.ws.closed:
                continue
            try:
                await self.ws.send_str(text)
            except (ConnectionResetError, RuntimeError):
                self.closed = True
                return

    async def close(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    async def finish(self) -> None:
        """Stop the writer once the connection's read loop has ended."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer


class WsRegistry:
    """Every open websocket of one simulator, across channels."""

    def __init__(self) -> None:
        self._conns: set[WsConnection] = set()

    def add(self, conn: WsConnection) -> None:
        self._conns.add(conn)

    def discard(self, conn: WsConnection) -> None:
        self._conns.discard(conn)

    def __iter__(self) -> Iterator[WsConnection]:
        return iter(list(self._conns))

    def __len__(self) -> int:
        return len(self._conns)

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY) -> int:
        conns = list(self._conns)
        await asyncio.gather(*(c.close(code) for c in conns), return_exceptions=True)
        return len(conns)
