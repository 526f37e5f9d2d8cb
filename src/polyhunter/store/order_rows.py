"""The `orders` rows an own-wallet executor journals before it posts (see `runtime.order_journal`):
inserted in batches on the engine's hot-path connection, and the newest order hash of a copy."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from polyhunter.store.database import engine_of
from polyhunter.store.hot_path import hot_path_for
from polyhunter.store.models import Order
from polyhunter.store.sessions import SessionFactory

_ORDERS = cast(Table, Order.__table__)


def _insert_orders(db: Connection, rows: list[dict[str, Any]]) -> None:
    db.execute(insert(_ORDERS), rows)


def is_constraint_violation(exc: BaseException) -> bool:
    """The database refused a row (a unique key, a foreign key, a check)."""
    return isinstance(exc, IntegrityError)


class OrderRows:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._hot = hot_path_for(sessions)  # the rows go through the engine's hot-path connection

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        """One INSERT of `rows` in one transaction."""
        await self._hot.transaction(_insert_orders, rows)

    async def latest_hash(self, copy_trade_id: int) -> str | None:
        """The hash of the newest order recorded for this copy, if any."""
        async with engine_of(self._sessions).connect() as db:
            found = await db.scalar(
                select(_ORDERS.c.venue_order_id)
                .where(_ORDERS.c.copy_trade_id == copy_trade_id)
                .order_by(_ORDERS.c.id.desc())
                .limit(1)
            )
        return cast(str | None, found)
