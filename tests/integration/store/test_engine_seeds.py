"""What the engine starts from after a restart, read from the store, the same on SQLite and PostgreSQL:
each config's per-market exposure (EXECUTED fills, BUYs minus SELLs, never below zero) and the paper
accounts, and today's spend for the daily caps."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side, signal_key
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.exposure_seed import seed_exposure
from polyhunter.engine.positions import FollowerExposure
from polyhunter.ports.store import NewCopy, Outcome
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.copy_writes import finish_copies, insert_copies, record_signals
from polyhunter.store.database import core_transaction, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.paper_accounts import PaperAccountRepository, PaperHolding, StoredPaperAccount
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.store_factories import a_signal, configs, new_address, new_user

pytestmark = pytest.mark.integration

EXECUTED, FAILED = CopyTradeState.EXECUTED, CopyTradeState.FAILED


async def test_exposure_per_config_and_market(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    first, second = await configs(sessions, leader, 2)
    market_a, market_b = "0x" + "aa" * 32, "0x" + "bb" * 32
    fills = [  # (config, market, side, shares, price, state)
        (first, market_a, Side.BUY, 10, "0.40", EXECUTED),
        (first, market_a, Side.BUY, 5, "0.60", EXECUTED),
        (first, market_a, Side.SELL, 4, "0.50", EXECUTED),
        (first, market_a, Side.BUY, 100, "0.50", FAILED),  # never filled: not exposure
        (first, market_b, Side.BUY, 2, "0.25", EXECUTED),
        (second, market_a, Side.BUY, 3, "0.10", EXECUTED),
        (second, market_b, Side.BUY, 1, "0.50", EXECUTED),
        (second, market_b, Side.SELL, 5, "0.50", EXECUTED),  # sold more than it bought: clamps at zero
    ]
    for n, (stored, market, side, shares, price, state) in enumerate(fills):
        base = a_signal(leader, 1000 + n)
        signal = dataclasses.replace(
            base,
            key=signal_key(base.tx_hash, leader, "123", side, shares * 1_000_000),
            condition_id=market,
            side=side,
        )
        cfg = stored.config
        size, price_micro = shares * 1_000_000, int(Decimal(price) * 1_000_000)
        copy = NewCopy(
            cfg.id, cfg.version, cfg.user_id, side, "123", size, price_micro, size * price_micro // 10**6
        )
        async with core_transaction(sessions) as db:
            await record_signals(db, [signal])
            ids = await db.run_sync(insert_copies, signal.key, [copy], "w", signal.seen_at)
            filled = (size, price_micro) if state is EXECUTED else (None, None)
            outcome = Outcome(ids[cfg.id], state, filled_size_micro=filled[0], filled_price_micro=filled[1])
            await finish_copies(db, [outcome], signal.seen_at)
    store = SqlCopyStore(sessions)
    net = (await store.executed_totals()).usdc
    assert net[(first.config.id, market_a)] == Decimal("5")  # 4 + 3 - 2
    assert net[(first.config.id, market_b)] == Decimal("0.5")
    assert net[(second.config.id, market_a)] == Decimal("0.3")
    exposure = FollowerExposure()
    await seed_exposure(exposure, store)
    assert exposure.get(first.config.id, market_a) == 5
    assert exposure.get(second.config.id, market_b) == 0
    # shares per config and token (all fills here are token "123"): what each config may sell
    assert exposure.shares(first.config.id, "123") == Decimal(13)  # 10 + 5 - 4 + 2
    assert exposure.shares(second.config.id, "123") == Decimal(0)  # 3 + 1 - 5, clamped


async def test_paper_accounts_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Upserts of the account and of its positions; a closed position is stored at zero and not loaded."""
    async with unit_of_work(sessions) as s:
        user_id = await new_user(s)
        wallet_id = await WalletRepository(s, SecretBox(generate_master_key())).create(
            new_address(), WalletKind.PAPER, user_id=user_id
        )
    account = StoredPaperAccount(user_id, wallet_id, 90_000_000, 100_000_000, 0)
    async with unit_of_work(sessions) as s:
        repo = PaperAccountRepository(s)
        await repo.save(
            account, {"tok-a": PaperHolding(8_000_000, 500_000), "tok-b": PaperHolding(4_000_000, 250_000)}
        )
    account.cash_micro, account.realized_pnl_micro = 93_500_000, 1_500_000
    async with unit_of_work(sessions) as s:
        await PaperAccountRepository(s).save(account, {"tok-a": PaperHolding(0, 0)})
    async with sessions() as s:
        loaded = (await PaperAccountRepository(s).load_all())[user_id]
    assert (loaded.cash_micro, loaded.starting_cash_micro, loaded.realized_pnl_micro) == (
        93_500_000,
        100_000_000,
        1_500_000,
    )
    assert loaded.holdings == {"tok-b": PaperHolding(4_000_000, 250_000)}


async def test_spent_today_counts_buys_by_what_they_filled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    leader = new_address()
    (stored,) = await configs(sessions, leader, 1)
    cfg = stored.config
    cases = [  # (side, requested notional micro, state, filled (size, price) micro)
        (Side.BUY, 600_000, EXECUTED, (2_400_000, 500_000)),  # an aggregate: filled 1.2 USDC, requested 0.6
        (Side.BUY, 3_000_000, CopyTradeState.PENDING, None),  # unknown result: its request counts
        (Side.BUY, 5_000_000, FAILED, None),  # nothing spent
        (Side.SELL, 7_000_000, EXECUTED, (14_000_000, 500_000)),  # SELLs never count
    ]
    for n, (side, notional, state, filled) in enumerate(cases):
        base = a_signal(leader, 2000 + n)
        signal = dataclasses.replace(base, key=signal_key(base.tx_hash, leader, "123", side, 1), side=side)
        copy = NewCopy(cfg.id, cfg.version, cfg.user_id, side, "123", 1_000_000, 500_000, notional)
        async with core_transaction(sessions) as db:
            await record_signals(db, [signal])
            ids = await db.run_sync(insert_copies, signal.key, [copy], "w", signal.seen_at)
            if state is not CopyTradeState.PENDING:
                size, price = filled if filled else (None, None)
                outcome = Outcome(ids[cfg.id], state, filled_size_micro=size, filled_price_micro=price)
                await finish_copies(db, [outcome], signal.seen_at)
    spent = await SqlCopyStore(sessions).spent_today(datetime.now(UTC))
    assert spent[cfg.user_id] == 1_200_000 + 3_000_000
