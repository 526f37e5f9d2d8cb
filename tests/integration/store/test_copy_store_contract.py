"""The `CopyStore` contract (ports/store.py), the same for the in-memory fake the unit tests use
(tests/support/memory_copy_store.py) and for `SqlCopyStore` on SQLite and PostgreSQL: the prewrite is
idempotent (UNIQUE signal key + config id), outcomes are compare-and-set on PENDING, the seeds count
what the engine counts, the sweep's claims are exclusive. Everything is observed through the port."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import CopyTradeState
from polyhunter.ports.store import CopyStore, Fill, NewCopy, Outcome, StoredConfig
from polyhunter.settings import DbSettings
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from tests.support.memory_copy_store import MemoryCopyStore
from tests.support.store_factories import domain_config, new_address, new_user, signal_with_key

pytestmark = pytest.mark.integration

PENDING, SKIPPED, EXECUTED, FAILED = (
    CopyTradeState.PENDING,
    CopyTradeState.SKIPPED,
    CopyTradeState.EXECUTED,
    CopyTradeState.FAILED,
)
LOCK_TTL = timedelta(minutes=5)


@dataclass
class Subject:
    store: CopyStore
    new_config: Callable[[str], Awaitable[StoredConfig]]  # a config following `leader`, its own user


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> DbSettings | None:
    """None: the in-memory fake; else a migrated database (resolved here: those fixtures are sync)."""
    if request.param == "memory":
        return None
    db: DbSettings = request.getfixturevalue("sqlite_head" if request.param == "sqlite" else "pg_head")
    return db


@pytest.fixture
async def subject(backend: DbSettings | None) -> AsyncIterator[Subject]:
    if backend is None:
        memory = MemoryCopyStore()
        users = iter(range(1, 1_000_000))

        async def new_memory_config(leader: str) -> StoredConfig:
            return memory.add_config(StoredConfig(domain_config(next(users), leader), None, True))

        yield Subject(memory, new_memory_config)
        return
    engine = create_engine(backend)
    sessions = create_session_factory(engine)

    async def new_sql_config(leader: str) -> StoredConfig:
        async with unit_of_work(sessions) as s:
            return await CopyConfigRepository(s).create(domain_config(await new_user(s), leader))

    try:
        yield Subject(SqlCopyStore(sessions), new_sql_config)
    finally:
        await engine.dispose()


def a_signal(leader: str, side: Side = Side.BUY, condition_id: str = "0x" + "cd" * 32) -> Signal:
    signal = signal_with_key(secrets.token_hex(16), leader, condition_id)
    return dataclasses.replace(signal, side=side)


def copy_of(
    stored: StoredConfig,
    state: CopyTradeState = PENDING,
    reason: str | None = None,
    *,
    side: Side = Side.BUY,
    notional_micro: int = 10_000_000,
) -> NewCopy:
    cfg = stored.config
    return NewCopy(
        cfg.id, cfg.version, cfg.user_id, side, "123", 20_000_000, 500_000, notional_micro, state, reason
    )


async def claim_mine(
    store: CopyStore, ids: set[int], worker: str, now: datetime, older_than: datetime
) -> list[int]:
    claimed = await store.claim_stale_pending(
        worker, older_than=older_than, lock_ttl=LOCK_TTL, limit=10_000, now=now
    )
    return [c.id for c in claimed if c.id in ids]


async def test_configs_for_leader(subject: Subject) -> None:
    leader = new_address()
    first, second = await subject.new_config(leader), await subject.new_config(leader)
    await subject.new_config(new_address())  # another leader's
    found = await subject.store.configs_for_leader(leader)
    assert [s.config for s in found] == [first.config, second.config]
    again = await subject.store.config(first.config.id, first.config.version)
    assert again is not None
    assert again.config == first.config
    assert await subject.store.config(first.config.id, 99) is None


async def test_pause_config(subject: Subject) -> None:
    """A paused config is still one of its leader's configs (its copies are then SKIPPED), with the
    reason; a second pause keeps the first reason; pausing an unknown config says so."""
    leader = new_address()
    first, second = await subject.new_config(leader), await subject.new_config(leader)
    assert first.paused_reason is None
    now = datetime.now(UTC)
    assert await subject.store.pause_config(first.config.id, "NO_WALLET: no EOA wallet for user 7", now)
    assert await subject.store.pause_config(first.config.id, "SIZE_OUT_OF_RANGE", now)  # first one stays
    found = {s.config.id: s.paused_reason for s in await subject.store.configs_for_leader(leader)}
    assert found == {first.config.id: "NO_WALLET: no EOA wallet for user 7", second.config.id: None}
    again = await subject.store.config(first.config.id, first.config.version)
    assert again is not None
    assert again.paused_reason == "NO_WALLET: no EOA wallet for user 7"
    assert not await subject.store.pause_config(10**9, "whatever", now)


async def test_prewrite_is_idempotent(subject: Subject) -> None:
    store, leader = subject.store, new_address()
    one, two, three = [await subject.new_config(leader) for _ in range(3)]
    signal, now = a_signal(leader), datetime.now(UTC)
    created = await store.prewrite(signal, [copy_of(one), copy_of(two, SKIPPED, "FILTER_X")], "w1", now)
    assert created is not None
    assert set(created) == {one.config.id, two.config.id}
    assert len(set(created.values())) == 2
    # the same signal again (a late duplicate, a replay after a restart): nothing is written
    assert await store.prewrite(signal, [copy_of(one), copy_of(three)], "w2", now) is None
    # copies only (a signal recorded elsewhere): only the config without a row gets one
    again = await store.prewrite(
        signal, [copy_of(one), copy_of(two), copy_of(three)], "w2", now, record_signal=False
    )
    assert again is not None
    assert set(again) == {three.config.id}
    assert await store.prewrite(signal, [], "w2", now, record_signal=False) == {}
    # a new signal without copies is still recorded (and only once)
    bare = a_signal(leader)
    assert await store.prewrite(bare, [], "w1", now) == {}
    assert await store.prewrite(bare, [], "w1", now) is None
    # the PENDING copies are held by their writer, the SKIPPED one is not claimable at all
    later = now + timedelta(hours=1)
    mine = set(created.values()) | set(again.values())
    assert await claim_mine(store, mine, "sweeper", later, later) == sorted(
        [created[one.config.id], again[three.config.id]]
    )


async def test_outcomes_are_compare_and_set(subject: Subject) -> None:
    store, leader = subject.store, new_address()
    configs = [await subject.new_config(leader) for _ in range(4)]
    signal, now = a_signal(leader), datetime.now(UTC)
    created = await store.prewrite(signal, [copy_of(s) for s in configs], "w", now)
    assert created is not None
    executed, failed, closed, pending = (created[s.config.id] for s in configs)
    await store.close_copies([Outcome(closed, SKIPPED, reason="BELOW_VENUE_MINIMUM")], now)
    outcomes = [
        Outcome(
            executed,
            EXECUTED,
            filled_size_micro=4_000_000,
            filled_price_micro=510_000,
            fees_micro=0,
            venue_order_id="0xab",
            order_sent=True,
        ),
        Outcome(failed, FAILED, error="rejected", order_sent=True),
        Outcome(closed, EXECUTED, filled_size_micro=1, filled_price_micro=1),  # late: not written
    ]
    events = [
        {
            "rule": "USER_DAILY_CAP",
            "detail": {"detail": "cap", "notional": "10"},
            "user_id": configs[1].config.user_id,
            "config_id": configs[1].config.id,
            "config_version": 1,
            "signal_key": signal.key,
            "copy_trade_id": failed,
        }
    ]
    await store.write_outcomes(outcomes, events, now)
    await store.write_outcomes([Outcome(executed, FAILED, error="late")], [], now)  # terminal stays
    totals = await store.executed_totals()
    assert totals.usdc[(configs[0].config.id, signal.condition_id)] == Decimal("2.04")
    assert totals.shares[(configs[0].config.id, "123")] == Decimal(4)
    assert (configs[2].config.id, "123") not in totals.shares  # SKIPPED stayed SKIPPED
    spent = await store.spent_today(now)
    assert spent[configs[0].config.user_id] == 2_040_000  # by its fill
    assert configs[1].config.user_id not in spent  # FAILED spends nothing
    assert spent[configs[3].config.user_id] == 10_000_000  # PENDING: its request
    later = now + timedelta(hours=1)
    assert await claim_mine(store, set(created.values()), "sweeper", later, later) == [pending]


async def test_seeds(subject: Subject) -> None:
    store, leader = subject.store, new_address()
    cfg = await subject.new_config(leader)
    market_a, market_b = "0x" + "aa" * 32, "0x" + "bb" * 32
    fills = [  # (market, side, shares, price micro)
        (market_a, Side.BUY, 10, 400_000),
        (market_a, Side.SELL, 4, 500_000),
        (market_b, Side.BUY, 2, 250_000),
    ]
    now = datetime.now(UTC)
    for market, side, shares, price in fills:
        signal = a_signal(leader, side, market)
        copy = dataclasses.replace(copy_of(cfg, side=side), size_micro=shares * 1_000_000, price_micro=price)
        created = await store.prewrite(signal, [copy], "w", now)
        assert created is not None
        outcome = Outcome(
            created[cfg.config.id], EXECUTED, filled_size_micro=shares * 1_000_000, filled_price_micro=price
        )
        await store.write_outcomes([outcome], [], now)
    yesterday = now - timedelta(days=1)
    await store.prewrite(a_signal(leader), [copy_of(cfg, notional_micro=7_000_000)], "w", yesterday)
    totals = await store.executed_totals()
    assert totals.usdc[(cfg.config.id, market_a)] == Decimal(2)  # 4 - 2
    assert totals.usdc[(cfg.config.id, market_b)] == Decimal("0.5")
    assert totals.shares[(cfg.config.id, "123")] == Decimal(8)  # 10 - 4 + 2
    assert (await store.spent_today(now))[cfg.config.user_id] == 4_500_000  # BUYs filled today only


async def test_sweep_claims_and_reconciles(subject: Subject) -> None:
    store, leader = subject.store, new_address()
    configs = [await subject.new_config(leader) for _ in range(3)]
    t0 = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=secrets.randbelow(10**6))
    ids: list[int] = []
    for n, stored in enumerate(configs):
        signal = a_signal(leader)
        created = await store.prewrite(signal, [copy_of(stored)], "engine", t0 + timedelta(seconds=n))
        assert created is not None
        ids.append(created[stored.config.id])
    now, older_than = t0 + timedelta(hours=1), t0 + timedelta(minutes=1)
    first = await claim_mine(store, set(ids), "sweeper-a", now, older_than)
    assert first == ids  # oldest first
    assert await claim_mine(store, set(ids), "sweeper-b", now, older_than) == []  # held by sweeper-a
    claimed = await store.claim_stale_pending(
        "sweeper-c", older_than=older_than, lock_ttl=LOCK_TTL, limit=10_000, now=now + LOCK_TTL * 2
    )  # the lock went stale: claimable again
    mine = [c for c in claimed if c.id in ids]
    assert [c.id for c in mine] == ids
    pending = mine[0]
    assert (pending.config_id, pending.user_id, pending.side) == (
        configs[0].config.id,
        configs[0].config.user_id,
        Side.BUY,
    )
    assert (pending.requested_size_micro, pending.requested_notional_micro) == (20_000_000, 10_000_000)
    recorded = await store.recorded_order(pending)
    assert recorded.condition_id == "0x" + "cd" * 32
    assert (recorded.limit_micro, recorded.size_micro) == (None, None)  # no order was journaled
    fill = Fill(4_000_000, 500_000, 0, "0xfeed")
    assert not await store.reconcile_executed(ids[0], fill, "sweeper-a", now)  # not its claim any more
    assert await store.reconcile_executed(ids[0], fill, "sweeper-c", now)
    assert not await store.reconcile_expired(ids[0], "late", "sweeper-c", now)  # EXECUTED already
    assert await store.reconcile_expired(ids[1], "no fill", "sweeper-c", now)
    assert await store.release(ids[2], "sweeper-c")
    assert not await store.release(ids[2], "sweeper-c")
    later = now + timedelta(minutes=1)
    assert await claim_mine(store, set(ids), "sweeper-d", later, older_than) == [ids[2]]
    totals = await store.executed_totals()
    assert totals.shares[(configs[0].config.id, "123")] == Decimal(4)
    assert (configs[1].config.id, "123") not in totals.shares


async def test_failing_configs_and_a_partitions_totals(subject: Subject) -> None:
    """What a cluster worker reads when it takes a partition (engine/handover.py): the exposure of
    some followers only, and the configs whose last copies all failed (breakers to rebuild)."""
    store, leader = subject.store, new_address()
    failing, recovered = await subject.new_config(leader), await subject.new_config(leader)
    t0 = datetime.now(UTC)
    plan = [(failing, FAILED), (recovered, FAILED), (failing, FAILED), (recovered, EXECUTED)]
    for n, (cfg, state) in enumerate(plan):
        created = await store.prewrite(a_signal(leader), [copy_of(cfg)], "w", t0)
        assert created is not None
        filled = state is EXECUTED
        outcome = Outcome(
            created[cfg.config.id],
            state,
            error=None if filled else "rejected",
            filled_size_micro=2_000_000 if filled else None,
            filled_price_micro=500_000 if filled else None,
        )
        await store.write_outcomes([outcome], [], t0 + timedelta(seconds=n))
    users = [failing.config.user_id, recovered.config.user_id]
    since = t0 - timedelta(minutes=1)
    opened = await store.failing_configs(users, since, 2)
    assert list(opened) == [failing.config.id]
    assert abs(opened[failing.config.id] - (t0 + timedelta(seconds=2))) < timedelta(seconds=1)
    assert await store.failing_configs(users, since, 3) == {}  # only two failures
    assert await store.failing_configs(users, t0 + timedelta(minutes=1), 2) == {}  # too old
    assert await store.failing_configs([recovered.config.user_id], since, 1) == {}  # last one filled
    totals = await store.executed_totals([recovered.config.user_id])
    assert totals.users == {recovered.config.id: recovered.config.user_id}
    assert set(totals.usdc) == {(recovered.config.id, "0x" + "cd" * 32)}
    assert (await store.executed_totals([failing.config.user_id])).usdc == {}
