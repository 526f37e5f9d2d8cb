"""Leaders spread over the ingest workers by shard (pure), and the poller's side of a shard hand-over."""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter

from sqlalchemy.ext.asyncio import async_sessionmaker

from polyhunter.cluster.partitions import assignment, shard_of
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.settings import Settings
from tests.support.poller_fakes import NOW, A, B, C, FakeActivityApi, Recorder, make_poller, row

LEADERS = [f"0x{i:040x}" for i in range(1, 201)]


def test_a_leaders_shard_is_a_stable_hash_of_its_lower_case_address() -> None:
    mixed = "0xAbCdEf0000000000000000000000000000000001"
    assert shard_of(mixed, 16) == shard_of(mixed.lower(), 16) == shard_of(f" {mixed} ", 16)
    assert shard_of(mixed, 16) == zlib.crc32(mixed.lower().encode()) % 16  # fixed across processes
    assert {shard_of(a, 16) for a in LEADERS} == set(range(16))  # 200 leaders reach every shard
    assert max(Counter(shard_of(a, 16) for a in LEADERS).values()) <= 25  # none holds twice its share


def test_each_leader_is_followed_by_exactly_one_ingest_worker_and_a_dead_ones_go_to_the_others() -> None:
    workers = ["host-a:1", "host-b:2", "host-c:3"]

    def follows(members: list[str]) -> dict[str, str | None]:
        owners = assignment(16, members)
        return {leader: owners[shard_of(leader, 16)] for leader in LEADERS}

    before = follows(workers)
    assert set(before.values()) == set(workers)
    assert max(Counter(assignment(16, workers).values()).values()) <= 6  # ceil(16 / 3) shards each
    after = follows(["host-a:1", "host-c:3"])  # host-b died
    assert set(after.values()) == {"host-a:1", "host-c:3"}
    moved = {leader for leader in LEADERS if before[leader] != after[leader]}
    assert moved >= {leader for leader, w in before.items() if w == "host-b:2"}
    assert len(moved) < len(LEADERS) // 2  # the dead one's leaders and a few more, not a reshuffle


async def test_a_dropped_leader_is_not_polled_again_and_settled_waits_for_its_poll_in_flight() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    api.add(row(A, NOW - 5, 1), row(B, NOW - 5, 2), row(C, NOW - 5, 3))
    poller = make_poller(api, store, rec, [A, B, C], follow_from_s=NOW - 10)
    gate, entered = asyncio.Event(), asyncio.Event()

    async def slow_sink(signals: list[object]) -> None:
        entered.set()
        await gate.wait()  # A's poll holds here until the test lets it go
        await rec.sink(signals)  # type: ignore[arg-type]

    rec.downstream = slow_sink  # type: ignore[assignment]
    poller.MAX_IN_FLIGHT = 1  # one leader at a time: A first, B and C wait for a slot
    round_ = asyncio.create_task(poller.run_round())
    await entered.wait()
    poller.set_leaders([C])  # A and B's shard went to another worker while A's poll is in flight
    settled = asyncio.create_task(poller.settled())
    await asyncio.sleep(0)
    assert not settled.done(), "settled before A's poll in flight ended"
    gate.set()
    await asyncio.wait_for(settled, 5)
    await asyncio.wait_for(round_, 5)
    assert [user for user, _, _ in api.calls] == [A, C]  # B was dropped before its turn: not polled
    await asyncio.wait_for(poller.settled(), 1)  # nothing of a dropped leader in flight: at once


async def test_a_leader_taken_over_without_a_cursor_is_read_from_when_it_was_followed() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    api.add(row(A, NOW - 30, 1), row(A, NOW - 8, 2), row(B, NOW - 8, 3))
    poller = make_poller(api, store, rec, [], follow_from_s=NOW - 60)
    poller.set_leaders([A, B], since={A: NOW - 10})  # A followed since NOW - 10; B: unknown, from now
    await poller.run_round()
    assert [s.tx_hash for s in rec.signals] == [f"0x{2:064x}"]
    cursor = await store.load(A, "poll")
    assert cursor is not None
    assert cursor.last_ts == NOW - 8  # the next owner resumes from here


async def test_the_service_shards_the_poller_only_and_leaders_added_later_follow_their_shard() -> None:
    settings = Settings.model_validate(
        {"ingest": {"mode": "HYBRID"}, "venue": {"rtds_ws_url": "ws://127.0.0.1:9/"}}
    )
    clients = IngestClients.from_settings(settings)  # never connected: the service is not run
    leaders = LEADERS[:40]
    service = IngestService(
        settings,
        leaders,
        async_sessionmaker(),
        _drop,
        clients=clients,
        follow_from=NOW - 60,
        leader_shards=4,
    )
    try:
        assert service.followed(SourceKind.POLL) == []  # no shard held yet
        assert service.followed(SourceKind.WS) == sorted(leaders)  # the firehose follows every leader
        service.follow_shards(frozenset({1, 3}))
        mine = sorted(a for a in leaders if shard_of(a, 4) in {1, 3})
        assert 0 < len(mine) < len(leaders)
        assert service.followed(SourceKind.POLL) == mine
        assert service.poller is not None
        assert service.poller._leaders == mine  # noqa: SLF001 - what the poller will poll next round
        late = [a for a in LEADERS[40:] if shard_of(a, 4) == 3][0]
        service.set_leaders([*leaders, late])  # a leader added through the API, in a held shard
        assert late in service.poller._leaders  # noqa: SLF001
        service.follow_shards(frozenset({0}))  # the shards went elsewhere: none of them polled here
        assert not set(service.poller._leaders) & {*mine, late}  # noqa: SLF001
        assert set(service.followed(SourceKind.WS)) == {*leaders, late}
    finally:
        await clients.close()


async def _drop(signals: list[Signal]) -> None:
    return None
