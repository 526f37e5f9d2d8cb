"""Signals and a sink for the mux's tests (tests/unit/ingest/test_mux.py, test_mux_handoff.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key

FILL = datetime(2026, 9, 24, 12, 0, 0, tzinfo=UTC)


def sig(n: int, source: SourceKind, lag_s: float = 1.0) -> Signal:
    tx = f"0x{n:064x}"
    leader = "0x" + "ab" * 20
    return Signal(
        key=signal_key(tx, leader, "123", Side.BUY, 1_000_000),
        leader=leader,
        asset="123",
        condition_id="0x" + "cd" * 32,
        side=Side.BUY,
        size=Decimal(1),
        price=Decimal("0.5"),
        tx_hash=tx,
        fill_time=FILL,
        seen_at=FILL + timedelta(seconds=lag_s),
        source=source,
    )


class Taken(list[Signal]):
    """A sink that keeps what it was handed."""

    async def __call__(self, batch: list[Signal]) -> None:
        self.extend(batch)
