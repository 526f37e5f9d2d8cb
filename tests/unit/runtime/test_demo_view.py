"""The demo's live view: recent copies with their signal-to-submit latency, and PnL per follower."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.runtime.demo import DemoLog, _render, reason_class


def _record(
    user_id: int, state: CopyTradeState, latency_ms: float | None, reason: str | None = None
) -> CopyRecord:
    return CopyRecord(
        signal_key="k",
        config_id=1,
        user_id=user_id,
        state=state,
        reason=reason,
        side=Side.BUY,
        token_id="1",
        shares=Decimal(5),
        price=Decimal("0.51") if state is CopyTradeState.EXECUTED else Decimal(0),
        leader_price=Decimal("0.50"),
        slippage_ticks=Decimal(1) if state is CopyTradeState.EXECUTED else None,
        signal_to_submit_ms=latency_ms,
        at=datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC),
    )


def _text(demo: DemoLog) -> str:
    console = Console(record=True, width=200)
    console.print(_render(demo, 7, 3))
    return console.export_text()


def test_view_shows_latency_at_submit_and_pnl_per_follower() -> None:
    demo = DemoLog(names={1: "demo-paper", 2: "demo-wallet"})
    demo.add(_record(1, CopyTradeState.EXECUTED, 12.3))
    demo.add(_record(2, CopyTradeState.SKIPPED, None, "SLIPPAGE_EXCEEDED"))
    demo.pnl = {"demo-paper": Decimal("1.2345"), "demo-wallet": Decimal("-0.5")}
    demo.custody = {"demo-paper": "paper", "demo-wallet": "own wallet"}
    text = _text(demo)
    assert "signal→submit ms" in text
    assert "signals 7, copies 3" in text
    paper_row = next(line for line in text.splitlines() if "demo-paper" in line and "BUY" in line)
    assert "12.3" in paper_row
    skipped_row = next(line for line in text.splitlines() if "SLIPPAGE_EXCEEDED" in line)
    assert "ms" not in skipped_row
    assert "PnL per follower" in text
    pnl_rows = {
        line.split()[1]: line.split()[-2] for line in text.splitlines() if line.strip().startswith("│ demo-")
    }
    assert pnl_rows == {"demo-paper": "+1.2345", "demo-wallet": "-0.5000"}
    assert any("demo-wallet" in line and "own wallet" in line for line in text.splitlines())


def test_summary_reasons_count_kinds_not_ids() -> None:
    assert reason_class("AGGREGATED_INTO_108") == "AGGREGATED_INTO"
    assert reason_class("BELOW_VENUE_MINIMUM") == "BELOW_VENUE_MINIMUM"
    assert reason_class("NO_POSITION_TO_SELL") == "NO_POSITION_TO_SELL"
