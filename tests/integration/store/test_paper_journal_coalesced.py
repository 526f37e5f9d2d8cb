"""The paper journal coalesces a follower's writes: fills arriving while a write waits its turn join it
(one transaction per turn, not per fill), and what is stored is the account's newest state."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.orders import OrderBook
from polyhunter.execution.paper import PaperAccount, PaperExecutor, PaperPosition
from polyhunter.execution.paper_custody import PAPER
from polyhunter.execution.registry import BuildContext
from polyhunter.runtime.paper_journal import PaperJournal
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings, Settings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.store_factories import new_address, new_user

pytestmark = pytest.mark.integration


async def _paper_follower(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """A new user with a PAPER wallet: (user id, wallet id)."""
    async with unit_of_work(sessions) as s:
        user_id = await new_user(s)
        wallet_id = await WalletRepository(s, SecretBox(generate_master_key())).create(
            new_address(), WalletKind.PAPER, user_id=user_id
        )
    return user_id, wallet_id


async def test_fills_of_one_follower_share_writes(sessions: async_sessionmaker[AsyncSession]) -> None:
    user_id, wallet_id = await _paper_follower(sessions)
    journal = PaperJournal(sessions, {user_id: wallet_id})
    account = PaperAccount(Decimal(1000), Decimal(1000))

    async def fill(i: int) -> None:
        token = f"tok-{i % 5}"
        pos = account.positions.setdefault(token, PaperPosition())
        pos.shares += Decimal(2)
        pos.cost += Decimal(1)
        account.cash -= Decimal(1)
        await journal.save(user_id, account, token)

    await asyncio.gather(*(fill(i) for i in range(50)))
    first_wave = journal.writes
    assert 1 <= first_wave <= 3, first_wave  # not 50
    await asyncio.gather(*(fill(i) for i in range(50, 60)))
    assert journal.writes - first_wave <= 3

    restored = (await PaperJournal(sessions, {user_id: wallet_id}).restore())[user_id]
    assert restored.cash == Decimal(940)
    assert {t: p.shares for t, p in restored.positions.items()} == {f"tok-{i}": Decimal(24) for i in range(5)}


async def test_a_write_that_finds_every_connection_busy_is_retried(pg_head: DbSettings) -> None:
    """Under load the pool can stay busy past its timeout: the account write waits and tries again (a
    pool timeout raised out of the executor paused the follower's config as an internal error)."""
    engine = create_engine(pg_head.model_copy(update={"pool_size": 1, "pool_timeout_s": 0.2}))
    try:
        sessions = create_session_factory(engine)
        user_id, wallet_id = await _paper_follower(sessions)
        journal = PaperJournal(sessions, {user_id: wallet_id})
        account = PaperAccount(Decimal(990), Decimal(1000))
        account.positions["tok"] = PaperPosition(Decimal(20), Decimal(10))
        async with engine.connect() as one, engine.connect() as two:  # the pool (1 + 1 overflow) is busy
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
            write = asyncio.create_task(journal.save(user_id, account, "tok"))
            await asyncio.sleep(0.3)  # longer than the pool timeout: the first try has failed
            assert not write.done()
        await asyncio.wait_for(write, 30)  # a later try gets a connection
        assert journal.writes == 1
        restored = (await PaperJournal(sessions, {user_id: wallet_id}).restore())[user_id]
        assert restored.cash == Decimal(990)
    finally:
        await engine.dispose()


async def test_a_taken_partition_reads_its_paper_accounts_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two workers' paper executors (cluster: engine/handover.py): what one filled and journaled is what
    the other holds once it takes the partition (PAPER custody's `reload`); other followers are left."""
    (user_id, wallet_id), (other, other_wallet) = (
        await _paper_follower(sessions),
        await _paper_follower(sessions),
    )
    wallets = {user_id: wallet_id, other: other_wallet}
    journal = PaperJournal(sessions, wallets)
    a = PaperExecutor(_no_book, on_change=journal.save)
    b = PaperExecutor(_no_book)
    for executor in (a, b):  # both built at start: the same starting accounts
        executor.accounts[user_id] = PaperAccount(Decimal(1000), Decimal(1000))
        executor.accounts[other] = PaperAccount(Decimal(1000), Decimal(1000))
    acct = a.accounts[user_id]  # a fills (as its executor does) and journals the account
    acct.cash -= Decimal(30)
    acct.positions["tok"] = PaperPosition(Decimal(60), Decimal(30))
    await journal.save(user_id, acct, "tok")
    b.accounts[other].cash = Decimal(7)  # b's own state of a follower outside the partition
    ctx = BuildContext(Settings(), sessions, SecretBox(generate_master_key()), _no_book, 1, 60.0, wallets)
    assert PAPER.reload is not None
    await PAPER.reload(ctx, b, [user_id])
    assert b.accounts[user_id].cash == Decimal(970)
    assert {t: (p.shares, p.cost) for t, p in b.accounts[user_id].positions.items()} == {
        "tok": (Decimal(60), Decimal(30))
    }
    assert b.accounts[other].cash == Decimal(7)


async def _no_book(token: str) -> OrderBook:
    raise AssertionError(f"no book is read: {token}")
