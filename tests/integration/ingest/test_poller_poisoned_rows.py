"""A poisoned Data API row among good ones (over a loopback Data API and the real client): the good fills
are delivered, the bad rows are counted once by reason, and the cursor moves past them, so the next
rounds neither fail nor stall on them."""

from __future__ import annotations

import time

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import RetryPolicy
from polyhunter.domain.signal import Signal, to_micro
from polyhunter.ingest.cursors import Cursor, MemoryCursorStore
from polyhunter.ingest.data_api_poll import SOURCE
from polyhunter.ingest.metrics import IngestMetrics
from tests.support.local_data_api import activity_row, serve_activity
from tests.support.poller_fakes import loopback_poller

LEADER = "0x" + "5a" * 20
BIGINT_MAX = 2**63 - 1


class StoreLikeSink:
    """Takes signals as the signals table does: ``size_micro`` and ``price_micro`` are BIGINT."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []

    async def __call__(self, signals: list[Signal]) -> None:
        for s in signals:
            if not 0 <= to_micro(s.size) <= BIGINT_MAX or not 0 <= to_micro(s.price) <= BIGINT_MAX:
                raise OverflowError(f"value out of int64 range: {s.size}")
        self.signals.extend(signals)

    # the poller's SignalSink: every fill goes to the store-like check above
    def admit(self, signal: Signal) -> bool:
        return True

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        await self(admitted)

    async def submit(self, signals: list[Signal]) -> None:
        await self(signals)

    async def submit_until_taken(self, signal: Signal) -> None:
        await self([signal])


async def test_a_poisoned_row_is_skipped_and_the_cursor_moves_past_it() -> None:
    now = int(time.time())
    metrics = IngestMetrics()
    async with serve_activity() as (api, url):
        api.rows = [
            activity_row(LEADER, now - 8, 1),
            activity_row(LEADER, now - 6, 2, size=1e15),  # cannot be stored: fails every round on main
            activity_row(LEADER, now - 4, 3),
            activity_row(LEADER, now - 2, 4, price=1.5),  # the last row: the cursor must still pass it
        ]
        client = DataApiClient(url, 2_000, RetryPolicy(max_retries=0))
        store, sink = MemoryCursorStore(), StoreLikeSink()
        await store.save(Cursor(LEADER, SOURCE, now - 10))
        poller = loopback_poller(client, [LEADER], store, now, metrics.rejected(SOURCE))
        try:
            await poller.run_round(sink)
            assert [s.tx_hash for s in sink.signals] == [f"0x{1:064x}", f"0x{3:064x}"]
            assert poller.healthy
            assert poller.errors == 0
            cursor = await store.load(LEADER, SOURCE)
            assert cursor is not None
            assert cursor.last_ts == now - 2
            assert metrics.rejected(SOURCE).by_reason == {"size_out_of_range": 1, "price_out_of_range": 1}
            # later rounds: nothing new, nothing failed, the bad rows are not counted again
            api.rows.append(activity_row(LEADER, now - 1, 5))
            await poller.run_round(sink)
            await poller.run_round(sink)
        finally:
            await client.close()
    assert [s.tx_hash for s in sink.signals][-1] == f"0x{5:064x}"
    assert len(sink.signals) == 3
    assert poller.healthy
    assert poller.errors == 0
    assert metrics.rejected(SOURCE).total == 2
    cursor = await store.load(LEADER, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == now - 1


async def test_a_row_that_does_not_decode_is_set_aside_not_fatal_for_the_page() -> None:
    now = int(time.time())
    metrics = IngestMetrics()
    async with serve_activity() as (api, url):
        broken = activity_row(LEADER, now - 6, 2) | {"size": "lots"}
        del broken["transactionHash"]
        api.rows = [
            activity_row(LEADER, now - 8, 1),
            broken,
            activity_row(LEADER, now - 3, 3) | {"side": "HOLD"},
        ]
        client = DataApiClient(url, 2_000, RetryPolicy(max_retries=0))
        store, sink = MemoryCursorStore(), StoreLikeSink()
        await store.save(Cursor(LEADER, SOURCE, now - 10))
        poller = loopback_poller(client, [LEADER], store, now, metrics.rejected(SOURCE))
        try:
            await poller.run_round(sink)
            await poller.run_round(sink)
        finally:
            await client.close()
    assert [s.tx_hash for s in sink.signals] == [f"0x{1:064x}"]
    assert poller.healthy
    assert metrics.rejected(SOURCE).by_reason == {"schema": 2}
    cursor = await store.load(LEADER, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == now - 3
