"""The Data API poller inside the IngestService, against a local /activity and a migrated SQLite store:
stale misses after a restart are recorded (Prometheus, log line with the key, the owner's hook), not
copied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from polyhunter.domain.signal import Signal
from polyhunter.ingest.cursor_store_sql import SqlCursorStore
from polyhunter.ingest.cursors import Cursor
from polyhunter.ingest.data_api_poll import SOURCE
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.local_data_api import ActivityApi, activity_row, serve_activity

pytestmark = pytest.mark.integration

LEADER = "0x" + "5a" * 20


@pytest.fixture
async def data_api() -> AsyncIterator[tuple[ActivityApi, str]]:
    async with serve_activity() as served:
        yield served


class Store:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{tmp}/poll.db"
        self.engine: AsyncEngine | None = None

    async def sessions(self, settings: Settings) -> async_sessionmaker[AsyncSession]:
        await upgrade(settings.db)
        self.engine = create_engine(settings.db)
        return create_session_factory(self.engine)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    st = Store(tmp_path)
    yield st
    if st.engine is not None:
        await st.engine.dispose()


def poll_settings(store: Store, api_url: str, **ingest: Any) -> Settings:
    return Settings.model_validate(
        {
            "db": {"url": store.url},
            "venue": {"data_api_url": api_url, "rtds_ws_url": "ws://127.0.0.1:9/"},
            "ingest": {"mode": "POLLING_ONLY", **ingest},
        }
    )


async def until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)


async def test_stale_misses_are_counted_logged_with_their_key_and_not_copied(
    data_api: tuple[ActivityApi, str], store: Store
) -> None:
    api, url = data_api
    settings = poll_settings(store, url, replay_window_s=600, poll_interval_ms=100)
    sessions = await store.sessions(settings)
    now = int(time.time())
    await SqlCursorStore(sessions).save(Cursor(LEADER, SOURCE, now - 3_000))  # down for 50 minutes
    api.rows = [activity_row(LEADER, now - 2_000, 1), activity_row(LEADER, now - 10, 2)]
    copied: list[Signal] = []
    stale: list[Signal] = []

    async def sink(signals: list[Signal]) -> None:
        copied.extend(signals)

    clients = IngestClients.from_settings(settings)
    service = IngestService(settings, [LEADER], sessions, sink, clients=clients, on_stale=stale.extend)
    with capture_logs() as logs:
        task = asyncio.create_task(service.run())
        try:
            await until(lambda: bool(copied) and bool(stale))
            await asyncio.sleep(0.3)  # a few more rounds: nothing is reported twice
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await clients.close()
    assert [s.tx_hash for s in copied] == [f"0x{2:064x}"]
    assert [s.tx_hash for s in stale] == [f"0x{1:064x}"]
    text = generate_latest(service.metrics.registry).decode()
    assert 'polyhunter_ingest_stale_total{reason="replay_window",source="poll"} 1.0' in text
    assert 'polyhunter_ingest_stale_total{reason="max_age",source="poll"} 0.0' in text
    recorded = [e for e in logs if e["event"] == "stale miss not copied"]
    assert [(e["key"], e["reason"], e["log_level"]) for e in recorded] == [
        (stale[0].key, "replay_window", "warning")
    ]
    assert recorded[0]["age_s"] >= 2_000


async def test_the_configured_page_limit_is_what_the_poller_asks_for(
    data_api: tuple[ActivityApi, str], store: Store
) -> None:
    api, url = data_api
    settings = poll_settings(store, url, poll_page_limit=50, poll_interval_ms=100)
    sessions = await store.sessions(settings)
    now = int(time.time())
    await SqlCursorStore(sessions).save(Cursor(LEADER, SOURCE, now - 60))
    api.rows = [activity_row(LEADER, now - 30, n) for n in range(120)]
    copied: list[Signal] = []

    async def sink(signals: list[Signal]) -> None:
        copied.extend(signals)

    clients = IngestClients.from_settings(settings)
    service = IngestService(settings, [LEADER], sessions, sink, clients=clients)
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: len(copied) >= 120)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clients.close()
    assert len({s.key for s in copied}) == len(copied) == 120
    assert api.limits[:3] == [50, 50, 50]  # three pages: 50 + 50 + 20
    assert set(api.limits) == {50}


@pytest.mark.parametrize(("mode", "fast"), [("POLLING_ONLY", False), ("HYBRID", True)])
async def test_the_fast_cadence_is_for_hybrid_while_push_is_down_not_for_polling_only(
    data_api: tuple[ActivityApi, str], store: Store, mode: str, fast: bool
) -> None:
    """POLLING_ONLY has no push feed to be unhealthy: it polls every `poll_interval_ms`. HYBRID with the
    push feed down (nothing listens at its URL) polls every `poll_interval_degraded_ms`."""
    api, url = data_api
    settings = poll_settings(
        store,
        url,
        mode=mode,
        chain_in_hybrid=False,
        poll_interval_ms=400,
        poll_interval_degraded_ms=50,
        reconnect_backoff_initial_ms=50,
        reconnect_backoff_max_ms=200,
    )
    sessions = await store.sessions(settings)

    async def sink(_signals: list[Signal]) -> None:
        return None

    clients = IngestClients.from_settings(settings)
    service = IngestService(settings, [LEADER], sessions, sink, clients=clients)
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: api.calls.get(LEADER, 0) >= 1)
        first = api.calls[LEADER]
        await asyncio.sleep(1.2)
        polls = api.calls[LEADER] - first
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clients.close()
    if fast:
        assert service.rtds is not None
        assert not service.rtds.healthy
        assert polls >= 8, polls  # every 50 ms: ~24 in 1.2 s
    else:
        assert service.rtds is None
        assert 2 <= polls <= 4, polls  # every 400 ms: 3 in 1.2 s
