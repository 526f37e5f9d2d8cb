"""A hostile venue for the end-to-end tests: a loopback RTDS websocket and a loopback Data API
``/activity`` that send what the test queues, good or malformed, on an event loop of their own (a
thread), so a synchronous test can drive a ``polyhunter run`` subprocess against them.

* RTDS: every connection (after its subscribe frame) sends the queued frames in order. ``BIG`` is a
  frame of ``big_bytes`` bytes; after sending it (or failing to: the client drops a connection whose
  frame is over its bound) the connection ends and the next one goes on with the queue.
* Data API: ``rows`` are served like the live ``/activity`` (user, start, offset, limit, ascending)
  unless a queued behaviour is pending; each request takes the next behaviour: ``status`` (an HTTP
  error), ``hang`` (never answers in time), ``body`` (raw bytes served with 200).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
BIG = object()  # a frame far over the client's frame bound


@dataclass(frozen=True)
class Misbehave:
    """One Data API answer that is not a page: ``status`` with ``body``, or a ``hang`` of ``hang_s``."""

    status: int = 200
    body: bytes = b""
    hang_s: float = 0.0


class HostileVenue:
    def __init__(self, big_bytes: int = 64 << 20) -> None:
        self.big_bytes = big_bytes
        self.frames: deque[bytes | str | object] = deque()
        self.rows: list[dict[str, Any]] = []
        self.misbehave: deque[Misbehave] = deque()
        self.rtds_connections = 0
        self.frames_sent = 0
        self.big_sent = 0
        self.activity_requests = 0
        self.misbehaved = 0
        self.rtds_url = ""
        self.data_api_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-venue", daemon=True)
        self._wake: asyncio.Event | None = None
        self._runners: list[web.AppRunner] = []

    # ------------------------------------------------------------------------------ test-side calls

    def start(self) -> None:
        self._thread.start()
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def push_frames(self, *frames: bytes | str | object) -> None:
        def push() -> None:
            self.frames.extend(frames)
            assert self._wake is not None
            self._wake.set()

        self._loop.call_soon_threadsafe(push)

    def push_misbehaviour(self, *answers: Misbehave) -> None:
        self._loop.call_soon_threadsafe(self.misbehave.extend, answers)

    def add_rows(self, *rows: dict[str, Any]) -> None:
        self._loop.call_soon_threadsafe(self.rows.extend, rows)

    def frames_left(self) -> int:
        return len(self.frames)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    # ----------------------------------------------------------------------------------- servers

    async def _start(self) -> None:
        self._wake = asyncio.Event()
        rtds = web.Application()
        rtds.router.add_get("/", self._rtds)
        api = web.Application()
        api.router.add_get("/activity", self._activity)
        for app in (rtds, api):
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self._runners.append(runner)
        self.rtds_url = f"ws://127.0.0.1:{self._runners[0].addresses[0][1]}/"
        self.data_api_url = f"http://127.0.0.1:{self._runners[1].addresses[0][1]}"

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _rtds(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.rtds_connections += 1
        await ws.receive(timeout=10)  # the subscribe frame
        assert self._wake is not None
        while not ws.closed:
            if not self.frames:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except TimeoutError:
                    continue
                continue
            item = self.frames[0]
            try:
                if item is BIG:
                    self.frames.popleft()
                    self.big_sent += 1
                    await ws.send_bytes(b'{"payload":"' + b"A" * self.big_bytes + b'"}')
                    break  # the client drops the connection: go on with the next one
                if isinstance(item, bytes):
                    await ws.send_bytes(item)
                else:
                    await ws.send_str(str(item))
            except (ConnectionError, RuntimeError):
                break
            self.frames.popleft()
            self.frames_sent += 1
        if not ws.closed:
            await ws.close()
        return ws

    async def _activity(self, request: web.Request) -> web.StreamResponse:
        self.activity_requests += 1
        if self.misbehave:
            answer = self.misbehave.popleft()
            self.misbehaved += 1
            if answer.hang_s:
                await asyncio.sleep(answer.hang_s)
            return web.Response(status=answer.status, body=answer.body, content_type="application/json")
        user = request.query["user"].lower()
        limit = min(int(request.query.get("limit", "100")), 500)
        start, offset = int(request.query.get("start", "0")), int(request.query.get("offset", "0"))
        rows = [r for r in self.rows if str(r.get("proxyWallet", "")).lower() == user]
        rows = [r for r in rows if int(r["timestamp"]) >= start]
        rows.sort(key=lambda r: int(r["timestamp"]))
        return web.Response(
            body=json.dumps(rows[offset : offset + limit]).encode(), content_type="application/json"
        )
