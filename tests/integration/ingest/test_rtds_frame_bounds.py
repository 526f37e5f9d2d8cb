"""RtdsSource at the edge, against a local websocket server: a frame over ``max_msg_bytes`` never reaches
the handler (the connection is dropped and rejoined), and a handler that raises on a frame costs that
frame only: the stream goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiohttp import web

from polyhunter.adapters.polymarket.rtds_client import RtdsClient
from polyhunter.domain.signal import Signal
from polyhunter.ingest.rtds import RtdsSource
from tests.support.ws_server import WsServer


async def _frames(ws: web.WebSocketResponse, number: int) -> None:
    if number == 1:
        await ws.send_bytes(b"x" * (2 << 20))  # 2 MiB: over the client's bound
    else:
        await ws.send_str("boom")
        await ws.send_str("good")
    await asyncio.sleep(0.2)


@pytest.fixture
async def server() -> AsyncIterator[WsServer]:
    srv = WsServer()
    srv.behaviour = _frames
    await srv.start()
    yield srv
    await srv.stop()


class NullSink:
    """A ``SignalSink`` that takes everything and keeps nothing (the handler here returns no signal)."""

    def admit(self, signal: Signal) -> bool:
        return True

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        return None

    async def submit(self, signals: list[Signal]) -> None:
        return None

    async def submit_until_taken(self, signal: Signal) -> None:
        return None


async def test_oversized_frames_and_a_failing_handler_do_not_end_the_stream(server: WsServer) -> None:
    frames: list[bytes] = []

    def handle(raw: bytes, _seen_at: datetime) -> list[Signal]:
        if raw == b"boom":
            raise ValueError("a bug in the handler")
        frames.append(raw)
        return []

    client = RtdsClient(
        server.url, silence_timeout_ms=5_000, backoff_initial_ms=10, backoff_max_ms=20, max_msg_bytes=1 << 20
    )
    source = RtdsSource(client, lambda _sink: handle)
    task = asyncio.create_task(source.run(NullSink()))
    try:
        for _ in range(200):
            if frames:
                break
            await asyncio.sleep(0.02)
        assert not task.done()
    finally:
        source.stop()
        await asyncio.wait_for(task, 5)
    assert frames[0] == b"good"
    assert all(len(frame) < 1 << 20 for frame in frames)
    assert server.connections >= 2
    assert source.handler_errors == 1
