"""The orders journal commits each signed order before it is posted: copies that arrive together share
one batch, and a row the database refuses fails only its own copy."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.polymarket.order_signer import SignedOrder
from polyhunter.domain.orders import OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.domain.states import OrderStatus
from polyhunter.runtime.order_journal import OrderJournal
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import Order, Wallet
from tests.support.store_factories import new_address, new_user

pytestmark = pytest.mark.integration


def request(user_id: int, n: int) -> OrderRequest:
    return OrderRequest(
        copy_trade_id=None,  # type: ignore[arg-type]  # the journal keeps orders without a copy row too
        signal_key=f"sig-{n}",
        config_id=1,
        user_id=user_id,
        token_id="123",
        condition_id="0x" + "ab" * 32,
        side=Side.BUY,
        shares=Decimal(4),
        limit_price=Decimal("0.51"),
        reference_price=Decimal("0.5"),
        tick_size=Decimal("0.01"),
        neg_risk=False,
        order_type=OrderType.FOK,
        min_order_size=Decimal(5),
        client_id=f"sig-{n}:1",
    )


def signed(order_hash: str) -> SignedOrder:
    return SignedOrder(
        order=cast(Any, None), order_hash=order_hash, signature="0x"
    )  # the journal reads the hash


async def a_wallet(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with unit_of_work(sessions) as s:
        user_id = await new_user(s)
        wallet_id = (
            await s.execute(
                insert(Wallet)
                .values(user_id=user_id, kind=WalletKind.EOA, address=new_address(), signature_type=0)
                .returning(Wallet.id)
            )
        ).scalar_one()
    return user_id, wallet_id


async def stored(sessions: async_sessionmaker[AsyncSession], hashes: list[str]) -> dict[str, Order]:
    async with sessions() as s:
        found = (await s.scalars(select(Order).where(Order.venue_order_id.in_(hashes)))).all()
    return {o.venue_order_id or "": o for o in found}


async def test_concurrent_copies_share_a_batch(sessions: async_sessionmaker[AsyncSession]) -> None:
    user_id, wallet_id = await a_wallet(sessions)
    journal = OrderJournal(sessions, {user_id: wallet_id})
    hashes = ["0x" + secrets.token_hex(32) for _ in range(50)]
    await asyncio.gather(
        *(journal.record_submit(request(user_id, i), signed(h)) for i, h in enumerate(hashes))
    )
    rows = await stored(sessions, hashes)
    assert set(rows) == set(hashes)
    assert {r.status for r in rows.values()} == {OrderStatus.SUBMITTING}
    assert {r.wallet_id for r in rows.values()} == {wallet_id}
    assert rows[hashes[0]].price_micro == 510_000
    assert journal.rows == 50
    assert journal.batches < 5  # fifty copies in the same turn do not take fifty transactions
    one = "0x" + secrets.token_hex(32)
    await journal.record_submit(request(user_id, 99), signed(one))  # a lone copy is written at once
    assert one in await stored(sessions, [one])


async def test_a_refused_row_fails_only_its_copy(sessions: async_sessionmaker[AsyncSession]) -> None:
    user_id, wallet_id = await a_wallet(sessions)
    journal = OrderJournal(sessions, {user_id: wallet_id})
    taken = "0x" + secrets.token_hex(32)
    await journal.record_submit(request(user_id, 0), signed(taken))
    fresh = ["0x" + secrets.token_hex(32) for _ in range(5)]
    results = await asyncio.gather(
        *(journal.record_submit(request(user_id, i + 1), signed(h)) for i, h in enumerate([*fresh, taken])),
        return_exceptions=True,
    )
    assert results[:5] == [None] * 5
    assert isinstance(results[5], IntegrityError)  # venue_order_id is UNIQUE: the same hash twice
    assert set(await stored(sessions, fresh)) == set(fresh)


async def test_unknown_user_is_refused_before_any_write(sessions: async_sessionmaker[AsyncSession]) -> None:
    journal = OrderJournal(sessions, {})
    with pytest.raises(LookupError, match="no wallet recorded for user 7"):
        await journal.record_submit(request(7, 0), signed("0x" + secrets.token_hex(32)))
