"""Serializing one kind of write across processes: a transaction-scoped lock by name.

On PostgreSQL, ``pg_advisory_xact_lock`` on a key derived from the name, held until the session's
transaction ends; on SQLite nothing is needed (its write transactions begin IMMEDIATE, see
store/database.py, and so already run one at a time).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from polyhunter.store.sessions import Session


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def exclusive(session: Session, name: str) -> None:
    """Wait until no other transaction holds the lock `name`, and hold it until this one ends."""
    if session.get_bind().dialect.name == "postgresql":
        # the holder may work for longer than one statement may take (db.statement_timeout_ms): the wait
        # alone is unbounded, the transaction's other statements keep the session's limit
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
        await session.execute(text("SET LOCAL statement_timeout TO DEFAULT"))
