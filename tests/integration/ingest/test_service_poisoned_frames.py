"""The ingest service (WS_ONLY) over a local RTDS server that sends a followed leader's poisoned frames
(NaN / Infinity size, a 1e20 timestamp, size -10, a fill in the year 3000, tx "0x1", prices -0.5, 0 and
1.5) before a good one: the service keeps running, only the good fill is handed on, and the rejects are
exported per source and reason. On main the first NaN frame ended the service (and ``polyhunter run``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.domain.signal import Signal
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory
from tests.support.wire_samples import LEADER, rtds_frame, rtds_payload
from tests.support.ws_server import WsServer


def frame(now: int, n: int, **over: Any) -> bytes:
    payload = rtds_payload(now, asset="777", slug="m", timestamp=now, transactionHash=f"0x{n:064x}")
    return json.dumps(rtds_frame({**payload, **over}, now), separators=(",", ":")).encode()


def poisoned(now: int) -> list[bytes]:
    return [
        frame(now, 1, size="NaN"),
        frame(now, 2, size="Infinity"),
        frame(now, 3, timestamp=10**20),
        frame(now, 4, size=-10),
        frame(now, 5, timestamp=32_503_680_000),
        frame(now, 6, transactionHash="0x1"),
        frame(now, 7, price=-0.5),
        frame(now, 8, price=0),
        frame(now, 9, price=1.5),
    ]


def rtds_sending(frames: list[bytes]) -> WsServer:
    """An RTDS that sends ``frames`` once, on the first connection, then keeps it open."""

    async def send(ws: web.WebSocketResponse, _number: int) -> None:
        sending = list(frames)
        frames.clear()
        for raw in sending:
            await ws.send_bytes(raw)
        await asyncio.sleep(30)

    server = WsServer()
    server.behaviour = send
    return server


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(Settings.model_validate({"db": {"url": f"sqlite+aiosqlite:///{tmp_path}/p.db"}}).db)
    yield eng
    await eng.dispose()


async def test_poisoned_frames_are_rejected_and_the_service_keeps_running(engine: AsyncEngine) -> None:
    now = int(time.time())
    rtds = rtds_sending([*poisoned(now), frame(now, 100)])
    await rtds.start()
    got: list[Signal] = []

    async def sink(signals: list[Signal]) -> None:
        got.extend(signals)

    settings = Settings.model_validate(
        {"venue": {"rtds_ws_url": rtds.url}, "ingest": {"mode": "WS_ONLY", "ws_silence_timeout_ms": 30_000}}
    )
    clients = IngestClients.from_settings(settings)  # only the websocket is used: nothing to close
    service = IngestService(
        settings, [LEADER], create_session_factory(engine), sink, clients=clients, sink_records=True
    )
    task = asyncio.create_task(service.run())
    try:
        for _ in range(250):
            if got or task.done():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert not task.done(), task.exception() if task.done() else None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await service.close()
        await rtds.stop()
    assert [s.tx_hash for s in got] == [f"0x{100:064x}"]
    text = generate_latest(service.metrics.registry).decode()
    expected = {"size_not_finite": 2, "timestamp_out_of_window": 2, "size_out_of_range": 1}
    expected |= {"bad_tx_hash": 1, "price_out_of_range": 3}
    for reason, n in expected.items():
        assert f'polyhunter_ingest_rejected_total{{reason="{reason}",source="ws"}} {float(n)}' in text
