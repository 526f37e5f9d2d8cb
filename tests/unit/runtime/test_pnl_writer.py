"""The daily PnL writer's pieces: a token's live mark is the venue's midpoint, else its last trade
(a failing read counts as none); a failed write is logged and kept for /status, never raised (the
supervisor's copying does not stop for a report), and the next one clears it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from polyhunter.domain.errors import PolyHunterError
from polyhunter.runtime.pnl_writer import DailyPnlWriter, venue_marks
from polyhunter.store.pnl_daily import SqlDailyPnl


async def test_mark_is_mid_then_last_trade() -> None:
    async def mid(token: str) -> Decimal | None:
        if token == "broken":
            raise PolyHunterError("venue down")
        return Decimal("0.41") if token == "a" else None

    async def last(token: str) -> Decimal | None:
        return Decimal("0.39") if token in ("b", "broken") else None

    mark = venue_marks(mid, last)
    assert await mark("a") == Decimal("0.41")
    assert await mark("b") == Decimal("0.39")  # empty book: the last trade
    assert await mark("broken") == Decimal("0.39")
    assert await mark("c") is None


class _FlakyStore:
    def __init__(self) -> None:
        self.calls = 0

    async def write(self, now: datetime, marks: Any) -> list[Any]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("database\n gone")
        return []


async def test_a_failed_write_is_kept_not_raised() -> None:
    store = _FlakyStore()
    writer = DailyPnlWriter(
        cast(SqlDailyPnl, store), None, 60, clock=lambda: datetime(2026, 12, 6, tzinfo=UTC)
    )
    await writer.write_logged()
    assert writer.status() == {"writes": 0, "rows": 0, "last_error": "RuntimeError: database gone"}
    await writer.write_logged()
    assert writer.status() == {"writes": 1, "rows": 0, "last_error": None}
    assert writer.today == {}
