"""Push signals through the IngestService pass the same gate as the other sources: the shared (Redis)
dedup is consulted and set, and a failed hand-off forgets the keys locally and in Redis, so the poller's
later copy of the same fill is accepted instead of being dropped as a duplicate.

Real parts: a local websocket server sending the recorded RTDS frames, the real RtdsSource and
FrameFilter inside the service, Redis at 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.adapters.polymarket.parse_signals import LegOrdinals, signal_from_rtds_frame
from polyhunter.adapters.polymarket.wire_rtds import ACTIVITY_FRAME_DECODER
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.cursor_store_sql import SqlCursorStore
from polyhunter.ingest.cursors import Cursor
from polyhunter.ingest.data_api_poll import SOURCE
from polyhunter.ingest.dedup import CoordinatorDedup
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.local_data_api import ActivityApi, row_from_rtds_frame, serve_activity
from tests.support.paths import FIXTURES
from tests.support.redis_prefixes import redis_prefix
from tests.support.ws_server import WsServer

pytestmark = pytest.mark.integration

REDIS = "redis://127.0.0.1:6379/0"
FIXTURE = FIXTURES / "current-2026-09"
WS, POLL = SourceKind.WS, SourceKind.POLL


def fresh_frames() -> list[bytes]:
    """The recorded frames, stamped now (so no signal is older than the stale limit)."""
    docs: list[dict[str, Any]] = json.loads((FIXTURE / "rtds_activity_trades.json").read_bytes())
    now = int(time.time())
    for doc in docs:
        doc["payload"]["timestamp"] = now
        doc["timestamp"] = now * 1000
    return [json.dumps(d, separators=(",", ":")).encode() for d in docs]


def signal_of(raw: bytes) -> Signal:
    frame = ACTIVITY_FRAME_DECODER.decode(raw)
    return signal_from_rtds_frame(frame, datetime.now(UTC), LegOrdinals())


@pytest.fixture
async def server() -> AsyncIterator[WsServer]:
    srv = WsServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix("push", REDIS) as p:
        yield p


@pytest.fixture
async def coords(prefix: str) -> AsyncIterator[Callable[[], RedisCoordinator]]:
    made: list[RedisCoordinator] = []

    def make() -> RedisCoordinator:
        made.append(RedisCoordinator(REDIS, prefix=prefix))
        return made[-1]

    yield make
    for coord in made:
        await coord.close()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(Settings.model_validate({"db": {"url": f"sqlite+aiosqlite:///{tmp_path}/p.db"}}).db)
    yield eng
    await eng.dispose()


def sends(frames: list[bytes]) -> Callable[[web.WebSocketResponse, int], Any]:
    async def talk(ws: web.WebSocketResponse, n: int) -> None:
        if n == 1:
            for raw in frames:
                await ws.send_bytes(raw)
        await asyncio.sleep(30)

    return talk


def make_service(
    url: str, leaders: list[str], engine: AsyncEngine, sink: Callable[[list[Signal]], Any], coord: Any
) -> IngestService:
    settings = Settings.model_validate(
        {
            "venue": {"rtds_ws_url": url},
            "ingest": {"mode": "WS_ONLY", "ws_silence_timeout_ms": 30_000},
            "coord": {"backend": "redis", "redis_url": REDIS},
        }
    )
    clients = IngestClients.from_settings(settings)  # only the websocket is used: nothing to close
    return IngestService(
        settings,
        leaders,
        create_session_factory(engine),
        sink,
        clients=clients,
        coord=coord,
        sink_records=True,
    )


async def until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)


async def test_push_signals_consult_and_set_the_shared_dedup(
    server: WsServer, coords: Callable[[], RedisCoordinator], engine: AsyncEngine
) -> None:
    frames = fresh_frames()[:2]
    first, second = signal_of(frames[0]), signal_of(frames[1])
    # another supervisor's poller copied the first fill already
    other = CoordinatorDedup(coords(), 600)
    assert await other.first_seen(first.key, POLL)
    await other.finalize([first.key])  # ... and recorded it
    server.behaviour = sends(frames)
    got: list[Signal] = []

    async def sink(signals: list[Signal]) -> None:
        got.extend(signals)

    service = make_service(server.url, [first.leader, second.leader], engine, sink, coords())
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: service.metrics.frames.matched >= 2 and bool(got))
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [s.key for s in got] == [second.key]
    ws = service.metrics.source(WS)
    assert (ws.received, ws.accepted, ws.duplicates) == (2, 1, 1)
    # and the push signal that won is claimed in Redis: a third process's poller sees a duplicate
    assert not await CoordinatorDedup(coords(), 600).first_seen(second.key, POLL)


@pytest.fixture
async def data_api() -> AsyncIterator[tuple[ActivityApi, str]]:
    async with serve_activity() as served:
        yield served


async def test_a_failed_push_hand_off_leaves_the_fill_to_the_poller(
    server: WsServer,
    data_api: tuple[ActivityApi, str],
    coords: Callable[[], RedisCoordinator],
    tmp_path: Path,
) -> None:
    """HYBRID: the engine's write fails for the pushed fill; the keys are forgotten (locally and in
    Redis), the push stream stays up, and the poller's copy of the fill is handed on instead."""
    api, api_url = data_api
    frames = fresh_frames()[:1]
    pushed = signal_of(frames[0])
    server.behaviour = sends(frames)
    got: list[Signal] = []
    failures = [TimeoutError("QueuePool limit reached")]

    async def sink(signals: list[Signal]) -> None:
        if failures:
            raise failures.pop()
        got.extend(signals)

    settings = Settings.model_validate(
        {
            "db": {"url": f"sqlite+aiosqlite:///{tmp_path}/hybrid.db"},
            "venue": {"rtds_ws_url": server.url, "data_api_url": api_url},
            "ingest": {
                "mode": "HYBRID",
                "chain_in_hybrid": False,
                "ws_silence_timeout_ms": 30_000,
                "poll_interval_ms": 100,
                "poll_interval_degraded_ms": 100,
            },
            "coord": {"backend": "redis", "redis_url": REDIS},
        }
    )
    await upgrade(settings.db)
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)
    # the poller has followed this leader for a while: its cursor is from before the fill
    await SqlCursorStore(sessions).save(Cursor(pushed.leader, SOURCE, int(time.time()) - 60))
    clients = IngestClients.from_settings(settings)
    service = IngestService(
        settings, [pushed.leader], sessions, sink, clients=clients, coord=coords(), sink_records=True
    )
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: service.mux.background_failures >= 1)
        assert service.mux.background_failures == 1
        assert pushed.key not in service.dedup
        assert service.metrics.source(WS).accepted == 0
        api.rows.append(row_from_rtds_frame(frames[0]))  # the Data API lists the fill a moment later
        await until(lambda: bool(got))
        assert not task.done()  # the push stream and the poller are still up
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clients.close()
        await engine.dispose()
    assert [(s.key, s.source) for s in got] == [(pushed.key, POLL)]
    assert service.metrics.source(POLL).accepted == 1
    assert service.metrics.source(POLL).duplicates == 0
    # once handed on, the key holds again across processes
    assert not await CoordinatorDedup(coords(), 600).first_seen(pushed.key, SourceKind.CHAIN)
