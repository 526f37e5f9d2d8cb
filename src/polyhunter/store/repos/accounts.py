"""Users and leaders."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.store.models import Leader, User
from polyhunter.store.repos.sql_helpers import upsert_insert

_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
IN_CHUNK = 500  # values in one IN (...) list: well under SQLite's and asyncpg's parameter limits


def normalize_address(address: str) -> str:
    """Lower-case ``0x`` + 40 hex digits, or ``ValueError``."""
    lowered = address.strip().lower()
    if not _ADDRESS.match(lowered):
        raise ValueError(f"not an address: {address!r}")
    return lowered


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, username: str, email: str | None = None) -> int:
        result = await self._session.execute(
            insert(User).values(username=username, email=email).returning(User.id)
        )
        return int(result.scalar_one())

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def id_by_username(self, username: str) -> int | None:
        found = await self._session.scalar(select(User.id).where(User.username == username))
        return int(found) if found is not None else None

    async def ids_by_usernames(self, names: Sequence[str]) -> dict[str, int]:
        """The ids of those of ``names`` that exist, read IN_CHUNK names a query."""
        out: dict[str, int] = {}
        for start in range(0, len(names), IN_CHUNK):
            sel = select(User.username, User.id).where(User.username.in_(names[start : start + IN_CHUNK]))
            out.update({name: int(uid) for name, uid in (await self._session.execute(sel)).all()})
        return out


class LeaderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ensure(self, address: str, label: str | None = None) -> int:
        """The leader's id, inserting it first if new (safe against a concurrent insert)."""
        addr = normalize_address(address)
        stmt = upsert_insert(self._session, Leader).values(address=addr, label=label)
        await self._session.execute(stmt.on_conflict_do_nothing(index_elements=["address"]))
        leader_id = await self._session.scalar(select(Leader.id).where(Leader.address == addr))
        assert leader_id is not None
        return int(leader_id)

    async def by_address(self, address: str) -> Leader | None:
        addr = normalize_address(address)
        return await self._session.scalar(select(Leader).where(Leader.address == addr))
