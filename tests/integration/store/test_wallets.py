"""Wallet secrets are stored only encrypted, bound to their row and column, and need the master key."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.secretbox import SecretBox, SecretBoxError, generate_master_key
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import Wallet
from polyhunter.store.repos.wallets import (
    ClobCredentials,
    WalletRepository,
    secret_context,
)
from tests.support.store_factories import new_address, new_user

pytestmark = pytest.mark.integration


async def test_private_key_round_trip_and_at_rest(sessions: async_sessionmaker[AsyncSession]) -> None:
    box = SecretBox(generate_master_key())
    private_key = "0x" + secrets.token_hex(32)
    clob = ClobCredentials(
        api_key=secrets.token_hex(16),
        api_secret=secrets.token_urlsafe(32),
        api_passphrase="pp-" + secrets.token_hex(8),
    )
    address = new_address()
    async with unit_of_work(sessions) as s:
        user_id = await new_user(s)
        wallet_id = await WalletRepository(s, box).create(
            address.upper().replace("0X", "0x"),
            WalletKind.EOA,
            user_id=user_id,
            private_key=private_key,
            clob=clob,
        )

    async with unit_of_work(sessions) as s:
        loaded = await WalletRepository(s, box).load(address)
        by_id = await WalletRepository(s, box).load_by_id(wallet_id)
    assert loaded is not None
    assert loaded == by_id
    assert loaded.address == address
    assert loaded.private_key == private_key
    assert loaded.clob == clob
    assert private_key not in repr(loaded)
    assert clob.api_secret not in repr(loaded)

    async with unit_of_work(sessions) as s:
        raw = (
            await s.execute(
                text(
                    "SELECT private_key_enc, clob_api_key_enc, clob_api_secret_enc, clob_api_passphrase_enc, "
                    "* FROM wallets WHERE id = :id"
                ),
                {"id": wallet_id},
            )
        ).one()
    whole_row = " ".join(str(v) for v in raw).lower()
    for plain in (private_key, private_key[2:], clob.api_key, clob.api_secret, clob.api_passphrase):
        assert plain.lower() not in whole_row
    assert all(str(v).startswith("v1.") for v in raw[:4])
    # The stored ciphertext decrypts with its own context only.
    assert box.decrypt(raw[0], secret_context(address, "private_key")) == private_key
    with pytest.raises(SecretBoxError):
        box.decrypt(raw[0], secret_context(address, "clob_api_secret"))
    with pytest.raises(SecretBoxError):
        box.decrypt(raw[0], secret_context(new_address(), "private_key"))


async def test_wrong_master_key_fails(sessions: async_sessionmaker[AsyncSession]) -> None:
    box = SecretBox(generate_master_key())
    address = new_address()
    async with unit_of_work(sessions) as s:
        await WalletRepository(s, box).create(
            address, WalletKind.FLEET, private_key="0x" + secrets.token_hex(32)
        )
    async with unit_of_work(sessions) as s:
        with pytest.raises(SecretBoxError):
            await WalletRepository(s, SecretBox(generate_master_key())).load(address)


async def test_ciphertext_moved_to_another_wallet_does_not_decrypt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    box = SecretBox(generate_master_key())
    victim, attacker = new_address(), new_address()
    async with unit_of_work(sessions) as s:
        repo = WalletRepository(s, box)
        await repo.create(victim, WalletKind.EOA, private_key="0x" + secrets.token_hex(32))
        await repo.create(attacker, WalletKind.EOA, private_key="0x" + secrets.token_hex(32))
    async with unit_of_work(sessions) as s:
        stolen = (
            await s.execute(text("SELECT private_key_enc FROM wallets WHERE address = :a"), {"a": victim})
        ).scalar_one()
        await s.execute(update(Wallet).where(Wallet.address == attacker).values(private_key_enc=stolen))
    async with unit_of_work(sessions) as s:
        with pytest.raises(SecretBoxError):
            await WalletRepository(s, box).load(attacker)


async def test_set_clob_credentials_and_keyless_kinds(sessions: async_sessionmaker[AsyncSession]) -> None:
    box = SecretBox(generate_master_key())
    paper = new_address()
    async with unit_of_work(sessions) as s:
        repo = WalletRepository(s, box)
        await repo.create(paper, WalletKind.PAPER)
        with pytest.raises(ValueError, match="needs a private key"):
            await repo.create(new_address(), WalletKind.EOA)
        with pytest.raises(ValueError, match="holds no private key"):
            await repo.create(new_address(), WalletKind.PROXY, private_key="0x" + "11" * 32)
        creds = ClobCredentials("key-123456", "secret-123456", "pass-123456")
        assert await repo.set_clob_credentials(paper, creds)
        assert not await repo.set_clob_credentials(new_address(), creds)
        loaded = await repo.load(paper)
    assert loaded is not None
    assert loaded.private_key is None
    assert loaded.clob == creds
