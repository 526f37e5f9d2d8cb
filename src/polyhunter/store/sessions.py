"""The store's session types, by the names the layers above use (they hold and pass sessions, and
never build SQL themselves)."""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

Session: TypeAlias = AsyncSession
SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]
Database: TypeAlias = AsyncEngine

__all__ = ["Database", "Session", "SessionFactory"]
