"""Two supervisors' muxes share one dedup window through Redis: one winner per signal key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux
from tests.support.redis_prefixes import redis_prefix

URL = "redis://127.0.0.1:6379/0"
FILL = datetime(2026, 9, 24, 12, 0, 0, tzinfo=UTC)


def sig(n: int, source: SourceKind) -> Signal:
    tx, leader = f"0x{n:064x}", "0x" + "ab" * 20
    return Signal(
        key=signal_key(tx, leader, "7", Side.SELL, 5_000_000),
        leader=leader,
        asset="7",
        condition_id="0x" + "cd" * 32,
        side=Side.SELL,
        size=Decimal(5),
        price=Decimal("0.4"),
        tx_hash=tx,
        fill_time=FILL,
        seen_at=FILL + timedelta(seconds=1),
        source=source,
    )


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix("ingest", URL) as p:
        yield p


async def test_one_winner_across_two_processes(prefix: str) -> None:
    coords = [RedisCoordinator(URL, prefix=prefix) for _ in range(2)]
    taken: list[list[Signal]] = [[], []]

    def keep(into: list[Signal]) -> Callable[[list[Signal]], Awaitable[None]]:
        async def sink(batch: list[Signal]) -> None:
            into.extend(batch)

        return sink

    muxes = [
        SignalMux(
            "HYBRID",
            DedupSet(ttl_s=600),
            IngestMetrics(),
            max_signal_age_s=900,
            shared=CoordinatorDedup(c, 600),
            sink=keep(into),
        )
        for c, into in zip(coords, taken, strict=True)
    ]
    try:
        batches = [[sig(i, SourceKind.WS) for i in range(200)], [sig(i, SourceKind.POLL) for i in range(200)]]
        await asyncio.gather(*(mux.submit(batch) for mux, batch in zip(muxes, batches, strict=True)))
        keys = [s.key for batch in taken for s in batch]
        assert len(keys) == 200
        assert len(set(keys)) == 200
        ws, poll = muxes[0].metrics.source(SourceKind.WS), muxes[1].metrics.source(SourceKind.POLL)
        assert ws.accepted + poll.accepted == 200
        assert ws.duplicates + poll.duplicates == 200
        # a repeat inside one process is absorbed by its local set, without a Redis round trip
        shared = muxes[0].shared
        assert isinstance(shared, CoordinatorDedup)
        before = shared.stats.first[SourceKind.WS] + shared.stats.late[SourceKind.WS]
        handed_on = len(taken[0])
        await muxes[0].submit([sig(0, SourceKind.WS)])
        assert len(taken[0]) == handed_on
        assert shared.stats.first[SourceKind.WS] + shared.stats.late[SourceKind.WS] == before
    finally:
        for c in coords:
            await c.close()
