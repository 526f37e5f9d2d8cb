"""The summary printed when a run stops, with the venue or the database away: each part it cannot read
within its bound is noted (the view's last PnL figures kept), and the run still prints and exits."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any, cast

import pytest

from polyhunter.queries import Queries
from polyhunter.runtime import live_view
from polyhunter.runtime.live_view import LiveLog, summary, summary_text
from polyhunter.store.reports import CopyCount


class VenueAway:
    """The Queries a stopping run reads, with the venue hanging and the database refusing one part."""

    async def copy_counts(self) -> list[Any]:
        return [CopyCount("EXECUTED", None, 3)]

    def stage(self, _name: str) -> None:
        return None

    async def pnl_per_follower(self, _start: Decimal | None = None) -> dict[str, Decimal]:
        await asyncio.Event().wait()  # the venue never answers
        raise AssertionError("unreachable")

    def totals(self) -> tuple[int, int]:
        return (4, 3)

    def signals_recorded(self) -> int:
        return 4

    async def realized_per_follower(self) -> dict[str, Any]:
        raise ConnectionRefusedError("connection refused (db.url)")

    async def pnl_today_per_follower(self) -> dict[str, Any]:
        await asyncio.Event().wait()  # the database hangs too: the budget is spent already
        raise AssertionError("unreachable")

    async def proxy_ledgers(self) -> dict[str, Any]:
        return {}

    def ingest(self) -> dict[str, Any]:
        return {}


async def test_a_venue_that_hangs_at_stop_costs_the_budget_not_the_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live_view, "SUMMARY_BUDGET_S", 0.2)
    view = LiveLog(title="t")
    view.pnl = {"alice": Decimal("1.5")}
    started = time.monotonic()
    result = await asyncio.wait_for(summary(cast(Queries, VenueAway()), view, started), 10)
    assert result["pnl_usdc"] == {"alice": "1.5"}  # the view's last figures
    assert result["copies"] == {"EXECUTED": 3}
    assert set(result["unavailable"]) == {"pnl_usdc", "realized_usdc", "pnl_today_usdc"}
    assert time.monotonic() - started < 5  # one budget for the whole summary, not one per part
    assert "no answer within 0.2 s" in result["unavailable"]["pnl_usdc"]
    assert "ConnectionRefusedError" in result["unavailable"]["realized_usdc"]
    text = summary_text(result)
    assert "not read at stop: pnl_usdc (TimeoutError: no answer within 0.2 s)" in text
    assert "alice +1.5000" in text
