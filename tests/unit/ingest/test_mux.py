"""SignalMux: modes, stale drop, first-source-wins, per-source accounting, sink hand-off, retries of a failed
hand-off, provisional signals (its background hand-off and shared claims: test_mux_handoff.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.modes import IngestMode, sources_for
from polyhunter.ingest.mux import SignalMux, Verdict
from polyhunter.ports.sources import SignalSink, SourceHealth
from tests.support.exchange_logs import EXCHANGE, LEADER, OTHER, v2_log
from tests.support.fake_chain import FakeChain
from tests.support.mux_signals import Taken, sig

WS, POLL, CHAIN = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN


def make_mux(mode: IngestMode | str = "HYBRID", max_age_s: float = 900) -> SignalMux:
    return SignalMux(mode, DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=max_age_s)


@pytest.mark.parametrize(
    ("mode", "runs"),
    [
        ("WS_ONLY", {WS}),
        ("POLLING_ONLY", {POLL}),
        ("CHAIN_ONLY", {CHAIN}),
        ("MEMPOOL_ONLY", {SourceKind.MEMPOOL}),
        ("HYBRID", {WS, POLL, CHAIN, SourceKind.MEMPOOL}),
    ],
)
def test_modes_choose_sources(mode: str, runs: set[SourceKind]) -> None:
    assert sources_for(mode) == runs
    mux = make_mux(mode)
    for kind in SourceKind:
        assert mux.runs(kind) is (kind in runs)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="SMOKE_SIGNALS"):
        sources_for("SMOKE_SIGNALS")


def test_first_source_wins_and_late_duplicates_are_counted() -> None:
    mux = make_mux()
    assert mux.offer(sig(1, WS, lag_s=0.8)) is Verdict.ACCEPTED
    assert mux.offer(sig(1, POLL, lag_s=12)) is Verdict.DUPLICATE
    assert mux.offer(sig(1, CHAIN, lag_s=3)) is Verdict.DUPLICATE
    assert mux.offer(sig(2, POLL, lag_s=11)) is Verdict.ACCEPTED
    snap = mux.metrics.snapshot()
    assert snap["ws"]["accepted"] == 1
    assert snap["ws"]["duplicates"] == 0
    assert snap["poll"]["received"] == 2
    assert snap["poll"]["accepted"] == 1
    assert snap["poll"]["duplicates"] == 1
    assert snap["chain"]["duplicates"] == 1
    assert mux.dedup.stats.late_by_winner == {(POLL, WS): 1, (CHAIN, WS): 1}


def test_stale_signals_are_dropped_with_a_counted_reason_and_not_remembered() -> None:
    mux = make_mux(max_age_s=900)
    assert mux.offer(sig(1, POLL, lag_s=901)) is Verdict.STALE
    assert mux.offer(sig(1, POLL, lag_s=900)) is Verdict.ACCEPTED  # the limit itself is still fresh
    assert mux.metrics.source(POLL).stale == 1
    assert mux.metrics.source(POLL).accepted == 1
    assert sig(1, POLL).key in mux.dedup


def test_signals_of_sources_the_mode_does_not_run_are_dropped() -> None:
    mux = make_mux("WS_ONLY")
    assert mux.offer(sig(1, POLL)) is Verdict.DISABLED
    assert mux.offer(sig(1, WS)) is Verdict.ACCEPTED  # a disabled source never claims a key
    assert mux.metrics.source(POLL).disabled == 1


async def test_submit_hands_only_accepted_signals_to_the_sink() -> None:
    got: list[list[Signal]] = []

    async def sink(batch: list[Signal]) -> None:
        got.append(batch)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=60), IngestMetrics(), max_signal_age_s=60, sink=sink)
    await mux.submit([sig(1, WS), sig(1, POLL), sig(2, POLL, lag_s=61), sig(3, CHAIN)])
    await mux.submit([sig(1, CHAIN)])  # all duplicates: the sink is not called
    assert [[s.key for s in batch] for batch in got] == [[sig(1, WS).key, sig(3, CHAIN).key]]


def shared_mux(coord: MemoryCoordinator, sink: Taken) -> SignalMux:
    shared = CoordinatorDedup(coord, 60)
    return SignalMux(
        "HYBRID", DedupSet(ttl_s=60), IngestMetrics(), max_signal_age_s=60, shared=shared, sink=sink
    )


async def test_shared_dedup_across_two_muxes() -> None:
    coord = MemoryCoordinator()
    a, b = shared_mux(coord, a_took := Taken()), shared_mux(coord, b_took := Taken())
    await a.submit([sig(1, WS)])
    await b.submit([sig(1, POLL)])
    assert a_took == [sig(1, WS)]
    assert b_took == []
    assert b.metrics.source(POLL).duplicates == 1
    assert b.metrics.source(POLL).accepted == 0


async def test_a_failed_hand_off_forgets_the_keys_so_a_retry_is_accepted() -> None:
    """A signal the sink could not take (the database refused it) is not lost to the dedup gate: the
    poller's retry from its unmoved cursor, or another source, is accepted again, also across muxes."""
    got: list[str] = []
    fail = True

    async def sink(batch: list[Signal]) -> None:
        if fail:
            raise ConnectionError("database gone")
        got.extend(s.key for s in batch)

    coord = MemoryCoordinator()
    mux = SignalMux(
        "HYBRID",
        DedupSet(ttl_s=60),
        IngestMetrics(),
        max_signal_age_s=60,
        sink=sink,
        shared=CoordinatorDedup(coord, 60),
    )
    with pytest.raises(ConnectionError):
        await mux.submit([sig(1, WS), sig(2, WS)])
    assert mux.metrics.source(WS).accepted == 0
    fail = False
    await mux.submit([sig(1, POLL), sig(2, WS)])
    assert got == [sig(1, POLL).key, sig(2, WS).key]
    other = shared_mux(coord, other_took := Taken())
    await other.submit([sig(1, CHAIN)])
    assert other_took == []  # once handed on, the shared key holds again


class ListSource:
    def __init__(self, kind: SourceKind, signals: list[Signal]) -> None:
        self._kind = kind
        self._signals = signals
        self._health = SourceHealth.CONNECTING

    @property
    def kind(self) -> SourceKind:
        return self._kind

    @property
    def health(self) -> SourceHealth:
        return self._health

    async def run(self, sink: SignalSink) -> None:
        self._health = SourceHealth.HEALTHY
        for s in self._signals:
            await sink.submit_until_taken(s)
        self._health = SourceHealth.DOWN

    async def close(self) -> None:
        self._health = SourceHealth.DOWN


async def test_consume_drains_a_signal_source_and_tracks_its_health() -> None:
    got: list[Signal] = []

    async def sink(batch: list[Signal]) -> None:
        got.extend(batch)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=60), IngestMetrics(), max_signal_age_s=60, sink=sink)
    ws_source = ListSource(WS, [sig(1, WS), sig(2, WS)])
    poll_source = ListSource(POLL, [sig(2, POLL), sig(3, POLL)])
    await mux.consume(ws_source)
    assert mux.metrics.health(WS) is SourceHealth.DOWN
    await mux.consume(poll_source)
    assert [s.tx_hash[-1] for s in got] == ["1", "2", "3"]
    assert mux.metrics.source(POLL).duplicates == 1


# -- a failing hand-off of a chain signal (the real ChainLogSource over an in-memory chain) ----------


def chain_log(shares: int, tx_byte: str) -> dict[str, object]:
    return {**v2_log(LEADER, OTHER, 0, shares // 2, shares), "transactionHash": "0x" + tx_byte * 32}


def chain_source(chain: FakeChain, store: MemoryCursorStore) -> ChainLogSource:
    return ChainLogSource(
        chain,
        exchanges=[EXCHANGE],
        leaders=[LEADER],
        cursor_store=store,
        cursor_name="t",
        poll_interval_ms=20,
        start_block=1,
    )


async def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)


async def test_a_failed_chain_hand_off_is_retried_not_fatal_and_the_cursor_waits() -> None:
    """The engine's write times out for the second chain fill: consume keeps running, hands the same
    signal on again (its keys were forgotten), and the block cursor is not saved past it meanwhile."""
    chain, store = FakeChain(), MemoryCursorStore()
    chain.mine(chain_log(1_000_000, "01"), chain_log(2_000_000, "02"), chain_log(3_000_000, "03"))
    got: list[str] = []
    failing = asyncio.Event()
    failing.set()

    async def sink(batch: list[Signal]) -> None:
        if failing.is_set() and batch[0].tx_hash.startswith("0x02"):
            raise TimeoutError("QueuePool limit reached")
        got.extend(s.tx_hash[2:4] for s in batch)

    metrics = IngestMetrics()
    mux = SignalMux(
        "CHAIN_ONLY", DedupSet(ttl_s=60), metrics, max_signal_age_s=10**9, sink=sink, retry_initial_s=0.01
    )
    source = chain_source(chain, store)
    task = asyncio.create_task(mux.consume(source))
    try:
        await wait_for(lambda: metrics.source(CHAIN).handoff_failures >= 3)
        assert not task.done()  # the chain path survives the failure
        assert got == ["01"]
        assert await store.load("*", "chain:t") is None  # not committed past the unhanded fill
        failing.clear()  # the database is back
        await wait_for(lambda: len(got) == 3)
        chain.mine()
        await wait_for(lambda: source.stats.committed_block is not None and source.stats.committed_block >= 1)
        assert not task.done()
    finally:
        await source.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert got == ["01", "02", "03"]
    st = metrics.source(CHAIN)
    assert (st.received, st.accepted, st.duplicates) == (3, 3, 0)
    saved = await store.load("*", "chain:t")
    assert saved is not None
    assert saved.last_ts >= 1


async def test_a_chain_retry_yields_to_another_sources_copy_taken_meanwhile() -> None:
    chain, store = FakeChain(), MemoryCursorStore()
    chain.mine(chain_log(1_000_000, "01"))
    got: list[Signal] = []

    async def sink(batch: list[Signal]) -> None:
        if batch[0].source is CHAIN and not got:
            raise ConnectionError("database gone")
        got.extend(batch)

    metrics = IngestMetrics()
    mux = SignalMux(
        "HYBRID", DedupSet(ttl_s=60), metrics, max_signal_age_s=10**9, sink=sink, retry_initial_s=0.2
    )
    source = chain_source(chain, store)
    task = asyncio.create_task(mux.consume(source))
    try:
        await wait_for(lambda: metrics.source(CHAIN).handoff_failures >= 1)
        chained = await anext(chain_source(chain, MemoryCursorStore()).signals())  # the same fill
        polled = replace(chained, source=POLL)
        await mux.submit([polled])  # the poller's copy of the fill, during the chain's backoff
        await wait_for(lambda: metrics.source(CHAIN).duplicates >= 1)
        assert not task.done()  # the chain retry saw the copy and moved on to the next signal
    finally:
        await source.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [(s.key, s.source) for s in got] == [(chained.key, POLL)]
    assert (metrics.source(CHAIN).accepted, metrics.source(CHAIN).duplicates) == (0, 1)
    assert metrics.source(POLL).accepted == 1


def _sig(source: SourceKind, key: str = "k1") -> Signal:
    now = datetime.now(UTC)
    return Signal(
        key,
        "0x" + "1e" * 20,
        "7",
        "",
        Side.BUY,
        Decimal(10),
        Decimal("0.5"),
        "0x" + "ab" * 32,
        now,
        now,
        source,
    )


async def test_a_provisional_key_is_confirmed_once_by_a_mined_sighting() -> None:
    confirmed: list[Signal] = []

    async def on_confirm(signal: Signal) -> None:
        confirmed.append(signal)

    mux = SignalMux(
        "HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, on_confirm=on_confirm
    )
    assert mux.offer(_sig(SourceKind.MEMPOOL)) is Verdict.ACCEPTED
    assert mux.provisional_keys() == 1
    assert mux.offer(_sig(SourceKind.MEMPOOL)) is Verdict.DUPLICATE  # the txpool poll again: no confirmation
    assert mux.offer(_sig(WS)) is Verdict.DUPLICATE  # RTDS reports it mined
    assert mux.offer(_sig(CHAIN)) is Verdict.DUPLICATE
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [s.source for s in confirmed] == [WS]  # once
    assert not await mux.confirm(_sig(SourceKind.MEMPOOL))  # the mempool's own block sighting: already done
    assert mux.offer(_sig(WS, "k2")) is Verdict.ACCEPTED  # first seen mined: nothing to confirm
    assert mux.provisional_keys() == 0


async def test_a_retracted_key_is_confirmed_if_seen_mined_after_all() -> None:
    confirmed: list[str] = []

    async def on_confirm(signal: Signal) -> None:
        confirmed.append(signal.key)

    mux = SignalMux(
        "HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, on_confirm=on_confirm
    )
    assert mux.offer(_sig(SourceKind.MEMPOOL)) is Verdict.ACCEPTED
    assert mux.retract(_sig(SourceKind.MEMPOOL))
    assert not mux.retract(_sig(SourceKind.MEMPOOL))
    assert mux.offer(_sig(POLL)) is Verdict.DUPLICATE
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert confirmed == ["k1"]
