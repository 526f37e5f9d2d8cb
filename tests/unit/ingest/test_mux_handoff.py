"""SignalMux's hand-off: the push path hands on in the background in order per (leader, token), up to its
limit; a cursor source's duplicate waits until the first copy is durable (or takes its place if that
hand-off fails); shared claims are kept alive while a hand-off runs and expire if its process dies."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux, Verdict
from polyhunter.ports.coordinator import Claim
from tests.support.mux_signals import Taken, sig

WS, POLL = SourceKind.WS, SourceKind.POLL


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
