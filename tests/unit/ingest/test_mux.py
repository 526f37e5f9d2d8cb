"""SignalMux: modes, stale drop, first-source-wins, per-source accounting, sink hand-off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import IngestMode, SignalMux, Verdict, sources_for
from polyhunter.ports.coordinator import Claim
from polyhunter.ports.sources import SignalSink, SourceHealth
from tests.support.exchange_logs import EXCHANGE, LEADER, OTHER, v2_log
from tests.support.fake_chain import FakeChain

WS, POLL, CHAIN = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN
FILL = datetime(2026, 9, 24, 12, 0, 0, tzinfo=UTC)


def sig(n: int, source: SourceKind, lag_s: float = 1.0) -> Signal:
    tx = f"0x{n:064x}"
    leader = "0x" + "ab" * 20
    return Signal(
        key=signal_key(tx, leader, "123", Side.BUY, 1_000_000),
        leader=leader,
        asset="123",
        condition_id="0x" + "cd" * 32,
        side=Side.BUY,
        size=Decimal(1),
        price=Decimal("0.5"),
        tx_hash=tx,
        fill_time=FILL,
        seen_at=FILL + timedelta(seconds=lag_s),
        source=source,
    )


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


class Taken(list[Signal]):
    """A sink that keeps what it was handed."""

    async def __call__(self, batch: list[Signal]) -> None:
        self.extend(batch)


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


def _token_sig(n: int, asset: str, source: SourceKind) -> Signal:
    base = sig(n, source)
    return replace(base, asset=asset, key=signal_key(base.tx_hash, base.leader, asset, Side.BUY, 1_000_000))


async def test_push_hand_off_does_not_hold_the_reader_and_keeps_order_per_token() -> None:
    """A fill whose token is busy (the sink blocks on it) holds neither the next frame nor another
    token's fill; fills of one token reach the sink in arrival order."""
    gate = asyncio.Event()
    order: list[str] = []

    async def sink(signals: list[Signal]) -> None:
        for s in signals:
            if s.asset == "slow" and not gate.is_set():
                await gate.wait()
            order.append(s.key)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, sink=sink)
    slow1, slow2, fast = _token_sig(1, "slow", WS), _token_sig(2, "slow", WS), _token_sig(3, "fast", WS)
    for s in (slow1, slow2, fast):
        assert mux.offer(s) is Verdict.ACCEPTED
        await asyncio.wait_for(mux.hand_off_soon([s]), 1)  # returns at once: the reader goes on
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == [fast.key]  # the other token went through; the slow one waits its turn
    gate.set()
    assert await mux.drain(1) == 0
    assert order == [fast.key, slow1.key, slow2.key]
    assert mux.metrics.source(WS).accepted == 3


async def test_cursor_source_duplicate_waits_until_the_push_copy_is_durable() -> None:
    """The poller offering a fill the push path is still handing on returns only once it is recorded:
    its cursor must not move past a fill that is not yet durable."""
    gate = asyncio.Event()
    got: list[tuple[str, SourceKind]] = []

    async def sink(signals: list[Signal]) -> None:
        await gate.wait()
        got.extend((s.key, s.source) for s in signals)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, sink=sink)
    pushed = sig(7, WS)
    assert mux.offer(pushed) is Verdict.ACCEPTED
    await mux.hand_off_soon([pushed])
    polled = asyncio.create_task(mux.submit([replace(pushed, source=POLL)]))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not polled.done()  # waiting for the push copy
    gate.set()
    await asyncio.wait_for(polled, 1)
    assert got == [(pushed.key, WS)]
    assert mux.metrics.source(POLL).duplicates == 1


async def test_cursor_source_copy_taken_when_the_push_hand_off_fails() -> None:
    gate = asyncio.Event()
    got: list[tuple[str, SourceKind]] = []

    async def sink(signals: list[Signal]) -> None:
        if signals[0].source is WS:
            await gate.wait()
            raise RuntimeError("database is locked")
        got.extend((s.key, s.source) for s in signals)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, sink=sink)
    pushed = sig(8, WS)
    assert mux.offer(pushed) is Verdict.ACCEPTED
    await mux.hand_off_soon([pushed])
    polled = asyncio.create_task(mux.submit([replace(pushed, source=POLL)]))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not polled.done()
    gate.set()
    await asyncio.wait_for(polled, 1)
    assert got == [(pushed.key, POLL)]
    assert mux.background_failures == 1
    ws, poll = mux.metrics.source(WS), mux.metrics.source(POLL)
    assert (ws.accepted, ws.handoff_failures) == (0, 1)
    assert (poll.accepted, poll.duplicates) == (1, 0)


async def test_push_hand_offs_beyond_the_limit_hold_the_reader() -> None:
    gate = asyncio.Event()

    async def sink(_signals: list[Signal]) -> None:
        await gate.wait()

    mux = SignalMux(
        "HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, sink=sink, background_limit=2
    )
    first, second = _token_sig(1, "a", WS), _token_sig(2, "b", WS)
    mux.offer(first)
    await asyncio.wait_for(mux.hand_off_soon([first]), 1)
    mux.offer(second)
    held = asyncio.create_task(mux.hand_off_soon([second]))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not held.done()  # two outstanding: the reader waits
    gate.set()
    await asyncio.wait_for(held, 1)
    assert await mux.drain(1) == 0


async def test_a_polled_fill_waits_behind_the_push_fills_of_its_token() -> None:
    """The poller's first sighting of a later fill does not overtake an earlier fill of the same token
    that the push path is still handing on; another token's polled fill is not held."""
    gate = asyncio.Event()
    order: list[str] = []

    async def sink(signals: list[Signal]) -> None:
        for s in signals:
            if s.source is WS and not gate.is_set():
                await gate.wait()
            order.append(s.key)

    mux = SignalMux("HYBRID", DedupSet(ttl_s=86_400), IngestMetrics(), max_signal_age_s=900, sink=sink)
    pushed = _token_sig(1, "t", WS)
    assert mux.offer(pushed) is Verdict.ACCEPTED
    await mux.hand_off_soon([pushed])
    later, elsewhere = _token_sig(2, "t", POLL), _token_sig(3, "other", POLL)
    polled = asyncio.create_task(mux.submit([later, elsewhere]))
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == [elsewhere.key]  # the other token went through; this one waits its turn
    assert not polled.done()  # and the poller's cursor does not move past it yet
    gate.set()
    await asyncio.wait_for(polled, 1)
    assert order == [elsewhere.key, pushed.key, later.key]
    assert await mux.drain(1) == 0


class FrozenCoordinator(MemoryCoordinator):
    """A process's view of the shared coordinator that stops answering once `frozen` (the process was
    SIGKILLed: it neither refreshes nor releases anything any more)."""

    def __init__(self, shared: MemoryCoordinator) -> None:
        super().__init__()
        self.shared = shared
        self.frozen = asyncio.Event()

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        if self.frozen.is_set():
            await asyncio.Event().wait()
        return await self.shared.claim(key, owner, ttl_ms)


async def test_a_supervisor_killed_mid_hand_off_leaves_only_a_short_claim() -> None:
    """Supervisor A claims a fill and its database stalls; A is killed before the fill is durable. B's
    poller offers the same fill: it waits on A's live claim (not a duplicate), takes the key once the
    claim expired, and records the fill. Once recorded, the key is final: a third copy is a duplicate."""
    coord = MemoryCoordinator()
    frozen = FrozenCoordinator(coord)
    stalled = asyncio.Event()

    async def stalled_sink(batch: list[Signal]) -> None:
        stalled.set()
        await asyncio.Event().wait()  # the database never answers

    a = SignalMux(
        "HYBRID",
        DedupSet(ttl_s=60),
        IngestMetrics(),
        max_signal_age_s=60,
        shared=CoordinatorDedup(frozen, 60, claim_ttl_s=0.3),
        sink=stalled_sink,
    )
    b_shared = CoordinatorDedup(coord, 60, claim_ttl_s=0.3)
    b_took = Taken()
    b = SignalMux(
        "HYBRID", DedupSet(ttl_s=60), IngestMetrics(), max_signal_age_s=60, shared=b_shared, sink=b_took
    )
    assert a.offer(sig(7, WS)) is Verdict.ACCEPTED
    await a.hand_off_soon([sig(7, WS)])
    await asyncio.wait_for(stalled.wait(), 5)
    polled = asyncio.create_task(b.submit([sig(7, POLL)]))
    while b_shared.claim_waits < 2:  # noqa: ASYNC110 - waits for B to meet A's live claim
        await asyncio.sleep(0.02)
    assert not polled.done()  # A is alive and refreshing its claim: B waits
    assert b_took == []
    frozen.frozen.set()  # SIGKILL: A's claim is no longer refreshed
    await asyncio.wait_for(polled, 5)
    assert b_took == [sig(7, POLL)]
    assert await coord.claim("sig:" + sig(7, WS).key, "c", 60_000) is Claim.FINAL
    assert await a.drain(0) == 1  # A's hand-off never ended


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


class CountingCoordinator(MemoryCoordinator):
    """The in-memory coordinator, counting the claims taken or refreshed per key (not those of "other")."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: dict[str, int] = {}

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        if owner != "other":
            self.claims[key] = self.claims.get(key, 0) + 1
        return await super().claim(key, owner, ttl_ms)


async def test_a_long_hand_off_keeps_its_claims_alive_and_quick_ones_are_never_refreshed() -> None:
    """Hand-offs done at once cost one claim and one finalize per key, no refresh. One whose sink takes
    several claim TTLs keeps its claim alive all along (another process finds it CLAIMED, never free),
    and makes it final once the sink returned."""
    coord = CountingCoordinator()
    release = asyncio.Event()
    slow = sig(999, WS)

    async def sink(batch: list[Signal]) -> None:
        if slow in batch:
            await release.wait()

    mux = SignalMux(
        "HYBRID",
        DedupSet(ttl_s=60),
        IngestMetrics(),
        max_signal_age_s=60,
        shared=CoordinatorDedup(coord, 60, claim_ttl_s=0.3),
        sink=sink,
    )
    quick = [sig(n, WS) for n in range(50)]
    for signal in quick:
        await mux.hand_off([signal])
    assert all(coord.claims["sig:" + s.key] == 1 for s in quick)
    for signal in quick:
        assert await coord.claim("sig:" + signal.key, "other", 60_000) is Claim.FINAL
    handing = asyncio.create_task(mux.hand_off([slow]))
    key = "sig:" + slow.key
    async with asyncio.timeout(10):
        while coord.claims.get(key, 0) < 6:  # taken, then refreshed every 0.1 s: > 0.5 s, 0.3 s claims
            await asyncio.sleep(0.01)
            assert await coord.claim(key, "other", 60_000) is Claim.CLAIMED
    release.set()
    await asyncio.wait_for(handing, 5)
    assert await coord.claim(key, "other", 60_000) is Claim.FINAL
    assert not mux._claimed
    assert not mux._holders


class HangingCoordinator(MemoryCoordinator):
    """The first claim of a key answers at once; a refresh of it never returns."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()
        self.refreshing = asyncio.Event()

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        if key in self.seen:
            self.refreshing.set()
            await asyncio.Event().wait()
        self.seen.add(key)
        return await super().claim(key, owner, ttl_ms)


async def test_drain_leaves_no_claim_keeper_running() -> None:
    """A hand-off cut by the drain while its claim keeper is inside a coordinator call: once `drain`
    returns the keeper is finished too (the caller closes the coordinator next; a keeper left in a call
    on a closed pool would hold up the shutdown of the event loop)."""
    coord = HangingCoordinator()

    async def never(batch: list[Signal]) -> None:
        await asyncio.Event().wait()  # the database never answers

    mux = SignalMux(
        "HYBRID",
        DedupSet(ttl_s=60),
        IngestMetrics(),
        max_signal_age_s=60,
        shared=CoordinatorDedup(coord, 60, claim_ttl_s=0.3),
        sink=never,
    )
    first = sig(1, WS)
    assert mux.offer(first) is Verdict.ACCEPTED
    await mux.hand_off_soon([first])
    await asyncio.wait_for(coord.refreshing.wait(), 10)
    keepers = list(mux._holders.values())
    assert await mux.drain(0.05) == 1
    assert all(keeper.done() for keeper in keepers)
    assert not mux._holders
