"""Read this deployment's id (the one row of ``deployment``, see models/deployment.py)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.store.database import unit_of_work
from polyhunter.store.models import Deployment


async def deployment_id(sessions: async_sessionmaker[AsyncSession]) -> str:
    """The id every process on this database shares; made again only if its row was deleted."""
    async with sessions() as session:
        found = await session.scalar(select(Deployment.deployment_id).where(Deployment.id == 1))
    if found is not None:
        return str(found)
    try:
        async with unit_of_work(sessions) as session:
            session.add(Deployment(id=1, deployment_id=secrets.token_hex(8)))
    except IntegrityError:
        pass  # another process made it first: read theirs
    async with sessions() as session:
        return str(await session.scalar(select(Deployment.deployment_id).where(Deployment.id == 1)))
