"""A dead cluster worker's unsent copies are released to the partition's new owner, and recorded signals
without their copies are found again (store/orphans.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.orders import OrderType
from polyhunter.domain.signal import Side
from polyhunter.domain.states import OrderStatus
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import CopyTrade, Order, Wallet
from polyhunter.store.orphans import recover_partition, release_orphans, uncopied_signals
from tests.support.store_factories import configs, new_address, new_copy, signal_with_key

pytestmark = pytest.mark.integration


async def test_only_a_dead_workers_unsent_copies_in_scope_are_released(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SqlCopyStore(sessions)
    leader = new_address()
    cfgs = await configs(sessions, leader, 4)
    signal = signal_with_key("orphan-" + secrets.token_hex(8), leader)
    now = datetime.now(UTC)
    await store.record_signals([signal])
    dead = await store.prewrite(signal, [new_copy(c) for c in cfgs[:3]], "dead:1", now, record_signal=False)
    alive = await store.prewrite(signal, [new_copy(cfgs[3])], "alive:2", now, record_signal=False)
    assert dead is not None
    assert alive is not None
    sent_id = dead[cfgs[1].config.id]  # its order was journaled: it may have reached the venue
    async with unit_of_work(sessions) as s:
        wallet_id = (
            await s.execute(
                insert(Wallet)
                .values(
                    user_id=cfgs[1].config.user_id,
                    kind=WalletKind.EOA,
                    address=new_address(),
                    signature_type=0,
                )
                .returning(Wallet.id)
            )
        ).scalar_one()
        await s.execute(
            insert(Order).values(
                venue_order_id="0x" + secrets.token_hex(32),
                copy_trade_id=sent_id,
                wallet_id=wallet_id,
                asset="1",
                side=Side.BUY,
                price_micro=500_000,
                size_micro=1_000_000,
                order_type=OrderType.FOK,
                status=OrderStatus.SUBMITTING,
            )
        )
    out_of_scope = cfgs[2].config.user_id
    # the database may hold other tests' unsent copies: the partition in scope is this test's followers
    mine = {c.config.user_id for c in cfgs}
    released = await release_orphans(
        sessions, {"alive:2"}, lambda user_id: user_id in mine and user_id != out_of_scope
    )
    assert [s.key for s in released] == [signal.key]
    assert released[0] == signal  # the signal as it was recorded, decimals and times exact
    async with sessions() as s:
        left = set(
            (await s.scalars(select(CopyTrade.config_id).where(CopyTrade.signal_key == signal.key))).all()
        )
    assert left == {cfgs[1].config.id, cfgs[2].config.id, cfgs[3].config.id}  # sent, out of scope, alive
    again = await store.prewrite(signal, [new_copy(c) for c in cfgs], "new:3", now, record_signal=False)
    assert again is not None
    assert set(again) == {cfgs[0].config.id}  # the new owner prewrites the released copy once more
    assert await release_orphans(sessions, {"alive:2", "new:3"}, lambda u: u in mine) == [signal]  # cfgs[2]'s
    assert await release_orphans(sessions, {"alive:2", "new:3"}, lambda u: u in mine) == []


async def test_recorded_signals_a_partitions_config_has_no_copy_of_are_recovered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Their stream entries were lost (Redis restarted empty): the database still owes them."""
    store = SqlCopyStore(sessions)
    leader = new_address()
    cfgs = await configs(sessions, leader, 3)
    signal = signal_with_key("owed-" + secrets.token_hex(8), leader)
    retracted = signal_with_key("gone-" + secrets.token_hex(8), leader)
    later = await configs(sessions, leader, 1)  # made after the signals were seen: never copies them
    now = datetime.now(UTC)
    await store.record_signals([signal, retracted])
    await store.mark_retracted(retracted.key, "reorg", now)
    await store.prewrite(signal, [new_copy(cfgs[0])], "alive:1", now, record_signal=False)
    await store.prewrite(signal, [new_copy(cfgs[1])], "dead:2", now, record_signal=False)  # never sent
    users = [c.config.user_id for c in cfgs]
    since = now - timedelta(minutes=5)

    def scope(*allowed: int) -> Callable[[int], bool]:
        return lambda user_id: user_id in allowed

    assert await uncopied_signals(sessions, since, now, scope(*users)) == [signal]  # cfgs[2] has no copy
    assert await uncopied_signals(sessions, since, now, scope(users[0], users[1])) == []  # both have one
    assert await uncopied_signals(sessions, since, now, scope(later[0].config.user_id)) == []
    assert (
        await uncopied_signals(
            sessions, now + timedelta(minutes=1), now + timedelta(minutes=2), scope(*users)
        )
        == []
    )  # too old
    # seen before `until` only: the stream still holds what was published from then on
    assert await uncopied_signals(sessions, since, signal.seen_at - timedelta(seconds=1), scope(*users)) == []
    # a new owner of cfgs[1] and cfgs[2]'s partition: the dead worker's unsent copy released, the
    # signal handed on once for both
    owed = await recover_partition(
        sessions, {"alive:1"}, scope(users[1], users[2]), now, window=timedelta(minutes=5)
    )
    assert owed == [signal]
    again = await store.prewrite(signal, [new_copy(c) for c in cfgs], "new:3", now, record_signal=False)
    assert again is not None
    assert set(again) == {cfgs[1].config.id, cfgs[2].config.id}
    assert (
        await recover_partition(
            sessions, {"alive:1", "new:3"}, scope(*users), now, window=timedelta(minutes=5)
        )
        == []
    )
