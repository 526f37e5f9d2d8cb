"""Put a run file's followers into the database: users, wallets (keys encrypted), versioned configs.

Idempotent: running the same file again changes nothing; a changed copy spec adds a config version.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.runtime.run_file import FollowerSpec, RunFile
from polyhunter.secretbox import SecretBox
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import CopyConfig, Leader, User
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.wallets import WalletRepository, WalletSecrets


@dataclass(frozen=True, slots=True)
class Provisioned:
    spec: FollowerSpec
    user_id: int
    wallet: WalletSecrets
    config_ids: tuple[int, ...]


def paper_address(name: str) -> str:
    return "0x" + hashlib.sha256(f"polyhunter-paper:{name}".encode()).hexdigest()[:40]


async def _user(session: AsyncSession, name: str) -> int:
    found = await session.scalar(select(User.id).where(User.username == name))
    return int(found) if found is not None else await UserRepository(session).create(name)


async def _wallet(session: AsyncSession, box: SecretBox, spec: FollowerSpec, user_id: int) -> WalletSecrets:
    repo = WalletRepository(session, box)
    key = spec.key() if spec.custody == "EOA" else None
    address = address_from_private_key(key).lower() if key else paper_address(spec.name)
    existing = await repo.load(address)
    if existing is None:
        kind = WalletKind.EOA if key else WalletKind.PAPER
        await repo.create(
            address,
            kind,
            user_id=user_id,
            private_key=key,
            signature_type=spec.signature_type,
            funder_address=spec.funder,
        )
        existing = await repo.load(address)
    assert existing is not None
    if existing.user_id != user_id:
        raise ValueError(f"wallet {address} belongs to another user")
    return existing


async def _config_id(session: AsyncSession, user_id: int, leader: str) -> int | None:
    found = await session.scalar(
        select(CopyConfig.id)
        .join(Leader, Leader.id == CopyConfig.leader_id)
        .where(CopyConfig.user_id == user_id, Leader.address == leader)
    )
    return int(found) if found is not None else None


async def provision(
    sessions: async_sessionmaker[AsyncSession], box: SecretBox, run: RunFile
) -> list[Provisioned]:
    out = []
    async with unit_of_work(sessions) as session:
        for spec in run.followers:
            user_id = await _user(session, spec.name)
            wallet = await _wallet(session, box, spec, user_id)
            configs = CopyConfigRepository(session)
            ids = []
            for copy in spec.copies:
                wanted = copy.to_domain(user_id, CustodyMode(spec.custody))
                config_id = await _config_id(session, user_id, copy.leader)
                if config_id is None:
                    stored = await configs.create(wanted, wallet_id=wallet.id)
                else:
                    current = await configs.get(config_id)
                    assert current is not None
                    same = dataclasses.replace(wanted, id=current.config.id, version=current.config.version)
                    stored = (
                        current
                        if same == current.config
                        else await configs.update(config_id, wanted, wallet_id=wallet.id)
                    )
                    if not current.active:
                        await configs.set_active(config_id, True)
                ids.append(stored.config.id)
            out.append(Provisioned(spec, user_id, wallet, tuple(ids)))
    return out
