"""The master key a process uses: ``secrets.master_key``, else the key file, which is only created
while the database holds no encrypted secret (a new key could never decrypt the ones stored)."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.secretbox import SecretBox, secret_box_from_settings
from polyhunter.settings import SecretsSettings
from polyhunter.store.models import Wallet


async def holds_encrypted_secrets(session: AsyncSession) -> bool:
    """Whether any wallet row holds a value encrypted with the master key."""
    encrypted = or_(
        Wallet.private_key_enc.is_not(None),
        Wallet.clob_api_key_enc.is_not(None),
        Wallet.clob_api_secret_enc.is_not(None),
        Wallet.clob_api_passphrase_enc.is_not(None),
    )
    return bool(await session.scalar(select(exists().where(encrypted))))


async def open_secret_box(secrets: SecretsSettings, sessions: async_sessionmaker[AsyncSession]) -> SecretBox:
    """The SecretBox of the settings; ``MasterKeyMissingError`` (one line naming the key file) when
    the key file is gone but the database holds secrets encrypted with it."""
    if secrets.master_key is not None and secrets.master_key.get_secret_value():
        return SecretBox(secrets.master_key.get_secret_value())
    async with sessions() as session:
        held = await holds_encrypted_secrets(session)
    return secret_box_from_settings(None, secrets.master_key_file, create=not held)
