"""RTDS websocket client: the `activity` firehose (types `trades` and `orders_matched`), one raw frame
at a time.

The connection is watched two ways: a closed socket (reconnect at once, then with backoff) and a
silent one (open, but no frame for `silence_timeout_ms` — subscriptions can lapse while the socket
stays up): both lead to a fresh connection and subscription, with exponential backoff and full
jitter between failed attempts. RTDS never answers our "ping"; it is sent only to keep proxies open.

What a frame means is not this client's business: each non-empty frame (not a ping/pong) is passed as
raw bytes to the ``on_frame`` callback given to :meth:`RtdsClient.run`, which returns ``None`` when it
is done with the frame (almost always: the firehose is mostly other wallets) or an awaitable the reader
awaits before the next frame.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.adapters.polymarket.wire_rtds import subscribe_activity_trades
from polyhunter.log import get_logger
from polyhunter.ports.sources import SourceHealth as Health
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

SUBSCRIBE = encode(subscribe_activity_trades()).decode()  # activity: trades and orders_matched
PING_INTERVAL_S = 5.0

OnFrame = Callable[[bytes], Awaitable[None] | None]


class RtdsClient:
    """``await client.run(on_frame)`` until :meth:`stop`; ``health`` and the counters at any time."""

    def __init__(
        self,
        url: str,
        *,
        silence_timeout_ms: int,
        backoff_initial_ms: int,
        backoff_max_ms: int,
        max_msg_bytes: int = 1 << 20,
    ) -> None:
        self.url = url
        self._silence_s = silence_timeout_ms / 1000
        self._backoff_initial = backoff_initial_ms / 1000
        self._backoff_max = backoff_max_ms / 1000
        self._max_msg_bytes = max_msg_bytes  # a larger frame fails the connection (reconnect)
        self.health = Health.CONNECTING
        self.connects = 0
        self.disconnects = 0
        self.silences = 0
        self.frames = 0
        self._stop = asyncio.Event()

    @property
    def healthy(self) -> bool:
        return self.health is Health.HEALTHY

    def stop(self) -> None:
        self._stop.set()

    async def run(self, on_frame: OnFrame) -> None:
        attempt = 0
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                raise_if_cancelled()  # a cancel swallowed inside the loop
                self.health = Health.CONNECTING
                started, frames_before = time.monotonic(), self.frames
                try:
                    await self._session(session, on_frame)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("rtds connection failed", error=f"{type(exc).__name__}: {exc}")
                if self._stop.is_set():
                    break
                self.health = Health.DOWN
                # A connection that delivered frames (or lived a while) was not a failed attempt: the
                # feed dropping a working socket is rejoined at once, not after a backoff grown by drops.
                worked = self.frames > frames_before or time.monotonic() - started > 30
                attempt = 0 if worked else attempt + 1
                delay = random.uniform(0, min(self._backoff_max, self._backoff_initial * 2**attempt))  # noqa: S311
                await asyncio.sleep(delay)

    async def _session(self, session: aiohttp.ClientSession, on_frame: OnFrame) -> None:
        async with session.ws_connect(
            self.url, heartbeat=None, autoping=True, max_msg_size=self._max_msg_bytes
        ) as ws:
            self.connects += 1
            await ws.send_str(SUBSCRIBE)
            pinger = asyncio.create_task(self._ping(ws))
            try:
                await self._read(ws, on_frame)
            finally:
                pinger.cancel()
            self.disconnects += 1

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(PING_INTERVAL_S)
            try:
                await ws.send_str("ping")
            except (aiohttp.ClientError, ConnectionResetError):
                return

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, on_frame: OnFrame) -> None:
        while not self._stop.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                msg = await ws.receive(timeout=self._silence_s)
            except TimeoutError:
                self.silences += 1
                self.health = Health.DEGRADED
                log.warning("rtds silent, reconnecting", silent_s=self._silence_s)
                await ws.close()
                return
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                continue
            self.health = Health.HEALTHY
            raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
            if not raw or raw == b"ping" or raw == b"pong":
                continue
            self.frames += 1
            pending = on_frame(raw)
            if pending is not None:
                await pending
