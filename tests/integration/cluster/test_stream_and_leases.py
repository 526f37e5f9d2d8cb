"""The signal stream, partition consumers and leases on the real Redis (own key prefix per test)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from redis.asyncio import Redis

from polyhunter.cluster.consumer import PartitionConsumer
from polyhunter.cluster.membership import Member
from polyhunter.cluster.partitions import partition_of
from polyhunter.cluster.status import cluster_status, export_cluster
from polyhunter.cluster.stream import SignalStream
from polyhunter.cluster.worker import ClusterWorker, cluster_redis
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.engine.intake import ConfigScope
from polyhunter.settings import ClusterSettings

pytestmark = pytest.mark.integration

URL = "redis://127.0.0.1:6379/0"
FAST = ClusterSettings(partitions=4, heartbeat_ms=100, member_ttl_ms=400, lease_ttl_ms=400, read_block_ms=50)


def _signal(i: int) -> Signal:
    now = datetime.now(UTC)
    return Signal(
        f"key-{i}",
        "0xleader",
        "1",
        "0xc",
        Side.BUY,
        Decimal(i + 1),
        Decimal("0.5"),
        f"0x{i}",
        now,
        now,
        SourceKind.WS,
    )


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    prefix = f"phtest-cluster-{uuid.uuid4().hex[:8]}"
    client = cluster_redis(URL, 8)
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(match="{" + prefix + "}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _user_in(partition: int, count: int) -> int:
    return next(uid for uid in range(1, 10_000) if partition_of(uid, count) == partition)


async def _until(cond: object, limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_signal_key_is_appended_once_whoever_publishes_it(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    a = ClusterWorker(FAST, client, prefix, "a", ("ingest",))
    b = ClusterWorker(FAST, client, prefix, "b", ("ingest",))
    await a.start()
    await asyncio.gather(a.publish([_signal(1), _signal(2)]), b.publish([_signal(2), _signal(1)]))
    await a.publish([_signal(1)])
    assert await a.stream.length() == 2
    assert a.counters.published + b.counters.published == 2
    positions = await a.stream.positions()
    assert sorted(positions) == [0, 1, 2, 3]
    assert all(p.lag == 2 and p.pending == 0 for p in positions.values())


async def test_a_new_owner_resumes_what_the_dead_one_read_and_never_acknowledged(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    stream = SignalStream(client, prefix, "signals", maxlen=10_000, dedup_ttl_ms=60_000)
    await stream.ensure_groups(2)
    for i in range(6):
        await stream.publish(_signal(i))
    await client.xadd(stream.key, {"s": b"garbage"})  # not a signal: dropped, never stalls the partition
    read = await stream.read(1, "dead", pending=False, count=3, block_ms=10)  # read, never acknowledged
    assert len(read) == 3
    handled: list[tuple[str, bool]] = []
    failures = [1]  # the engine refuses the first hand-off once (the database away): retried in order

    async def handle(signals: list[Signal], scope: ConfigScope) -> None:
        if failures:
            failures.pop()
            raise ConnectionError("database away")
        handled.extend((s.key, scope(_user_in(1, 2))) for s in signals)

    consumer = PartitionConsumer(1, 2, "new", stream, handle, lambda: True, read_count=2, block_ms=20)
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: len(handled) >= 6 and consumer.stats.bad_entries == 1)
        await _until(lambda: consumer.stats.handled == 6)
    finally:
        task.cancel()
    assert [k for k, _ in handled] == [f"key-{i}" for i in range(6)]  # once each, in stream order
    assert all(in_scope for _, in_scope in handled)  # the partition's followers only
    assert consumer.stats.taken_over == 3
    assert consumer.stats.failures == 1
    positions = await stream.positions()
    assert positions[1].pending == 0
    assert positions[1].lag == 0
    assert positions[0].lag == 7  # the other partition's position is its own


async def test_workers_split_the_partitions_and_take_over_a_leaver_and_a_dead_member(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def handler(name: str) -> Callable[[list[Signal], ConfigScope], Awaitable[None]]:
        async def handle(signals: list[Signal], _scope: ConfigScope) -> None:
            seen[name].extend(s.key for s in signals)

        return handle

    # TTLs long enough for the test's own steps on a loaded machine; the beat is fast
    s = FAST.model_copy(update={"member_ttl_ms": 1500, "lease_ttl_ms": 1500})
    a = ClusterWorker(s, client, prefix, "a", ("ingest", "execute"), handle=handler("a"))
    b = ClusterWorker(s, client, prefix, "b", ("execute",), handle=handler("b"))
    await a.start()
    await b.start()
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    try:
        await _until(lambda: len(a.owned) + len(b.owned) == 4 and a.owned and b.owned)
        assert not set(a.owned) & set(b.owned)
        await a.publish([_signal(i) for i in range(3)])
        await _until(lambda: len(seen["a"]) + len(seen["b"]) == 12)  # every signal once per partition
        registry = CollectorRegistry()
        export_cluster(registry, a)
        await a.tick()
        lines = generate_latest(registry).decode().splitlines()
        for p in a.owned:  # each owned partition's lag and unacknowledged entries, read at the last beat
            assert f'polyhunter_cluster_partition_lag{{partition="{p}"}} 0.0' in lines
            assert f'polyhunter_cluster_partition_pending{{partition="{p}"}} 0.0' in lines
        assert f"polyhunter_cluster_partitions_owned {float(len(a.owned))}" in lines
        status = await cluster_status(client, prefix, s)
        assert {m["id"] for m in status["members"]} == {"a", "b"}
        assert not status["unowned"]
        tasks[1].cancel()  # b stops cleanly: its leases are released, a takes them at its next beat
        await asyncio.gather(tasks[1], return_exceptions=True)
        await b.leave()
        started = time.monotonic()
        await _until(lambda: len(a.owned) == 4, limit_s=5)
        assert time.monotonic() - started < 2
        # a member that dies holding a lease (it beats once, takes a partition, and is never heard of again)
        ghost = Member("ghost", ("execute",), "elsewhere", time.time())
        await a.membership.beat(ghost)
        await _until(lambda: len(a.owned) < 4, limit_s=5)  # a hands over what the ghost should own
        lost = [p for p in range(4) if p not in a.owned]
        deadline = time.monotonic() + 5
        while any(owner is not None for p, owner in (await a.membership.owners(4)).items() if p in lost):
            assert time.monotonic() < deadline, "the lease handed over was never released"
            await asyncio.sleep(0.02)  # a's consumer stops first, then the lease is released
        await a.membership.beat(ghost)  # alive again as it takes them (its first beat may be near its end)
        assert all([await a.membership.acquire(p, "ghost") for p in lost])
        await a.publish([_signal(9)])
        started = time.monotonic()
        await _until(lambda: len(a.owned) == 4, limit_s=5)  # its membership and leases expired
        assert time.monotonic() - started < s.member_ttl_ms / 1000 + s.lease_ttl_ms / 1000 + 1
        await _until(
            lambda: seen["a"].count("key-9") == 4
        )  # published while the ghost held them: copied late
    finally:
        for t in tasks:
            t.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=15)
        assert not stuck, "a worker did not stop when cancelled"  # reported, not a 300 s hang


async def test_a_consumer_whose_group_vanished_makes_it_again_and_recovers_from_the_database_first(
    redis: tuple[Redis, str],
) -> None:
    """Redis restarted empty: the stream and its groups are gone (here: the stream key deleted, on the
    shared Redis). The consumer creates its group again, asks the database for what the partition still
    owes (the lost entries' signals) before it reads on, and copies what is published afterwards."""
    client, prefix = redis
    stream = SignalStream(client, prefix, "signals", maxlen=10_000, dedup_ttl_ms=60_000)
    await stream.ensure_groups(2)
    await stream.publish(_signal(0))
    handled: list[str] = []
    recoveries: list[float] = []
    owed = [_signal(1)]  # recorded in the database; its stream entry is lost with the restart

    async def handle(signals: list[Signal], scope: ConfigScope) -> None:
        handled.extend(s.key for s in signals)

    async def recover(scope: ConfigScope) -> list[Signal]:
        recoveries.append(time.monotonic())
        return list(owed) if len(recoveries) > 1 else []

    consumer = PartitionConsumer(
        0, 2, "owner", stream, handle, lambda: True, read_count=10, block_ms=20, recover=recover
    )
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: handled == ["key-0"])
        assert (await stream.first_entry_at() or 0) > time.time() - 60
        await client.delete(stream.key)  # the stream, its groups and their positions: gone
        assert await stream.first_entry_at() is None  # everything recorded may be missing from it
        await _until(lambda: len(recoveries) == 2)
        await stream.publish(_signal(2))
        await _until(lambda: handled == ["key-0", "key-1", "key-2"])
    finally:
        task.cancel()
    assert (await stream.positions())[0].pending == 0
    assert consumer.stats.recovered == 1


async def test_after_the_membership_is_lost_the_members_known_before_count_as_alive_for_a_while(
    redis: tuple[Redis, str],
) -> None:
    """Redis restarted empty: the first worker to beat again sees only itself. The others are not dead:
    their unsent copies must not be released as orphans until they had the time to beat again."""
    client, prefix = redis
    s = FAST.model_copy(update={"member_ttl_ms": 1000})
    a = ClusterWorker(s, client, prefix, "a", ("execute",))
    b = ClusterWorker(s, client, prefix, "b", ("execute",))
    await a.start()
    await b.start()
    await a.tick()
    assert a.live_ids() == {"a", "b"}
    keys = [k async for k in client.scan_iter(match="{" + prefix + "}:*", count=1000)]
    await client.delete(*keys)  # everything of the cluster's gone, as after a restart without persistence
    await a.tick()
    assert [m.id for m in a.members] == ["a"]
    assert a.live_ids() == {"a", "b"}  # b was known before: alive until it had the time to beat again
    await _until(lambda: a.live_ids() == {"a"}, limit_s=5)  # b never beat again: dead after 2 TTLs
    await b.tick()
    await a.tick()
    assert a.live_ids() == {"a", "b"}
