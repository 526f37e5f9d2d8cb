"""The live view (`run` and `demo`): recent copies with their signal-to-submit latency and leader, PnL
per follower, at 80 columns; and the summary printed when it stops."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.runtime.live_view import LiveLog, reason_class, render, summary_text


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


LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"


def _text(demo: LiveLog, width: int = 200) -> str:
    demo.signals, demo.copies = 7, 3
    console = Console(record=True, width=width)
    console.print(render(demo))
    return console.export_text()


def test_view_shows_latency_at_submit_and_pnl_per_follower() -> None:
    demo = LiveLog(title="PolyHunter demo", names={1: "demo-paper", 2: "demo-wallet"})
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


def _full_view() -> LiveLog:
    demo = LiveLog(
        title="PolyHunter demo",
        intro="Demo followers: demo-paper trades on paper (1000 USDC); demo-wallet is an own wallet.",
        names={1: "demo-paper", 2: "demo-wallet"},
        leaders={1: LEADER},
    )
    for _ in range(7):
        demo.add(_record(1, CopyTradeState.EXECUTED, 12.3))
        demo.add(_record(2, CopyTradeState.SKIPPED, None, "BELOW_VENUE_MINIMUM"))
    demo.pnl = {"demo-paper": Decimal("-1234.5678"), "demo-wallet": Decimal("-0.5")}
    demo.custody = {"demo-paper": "paper", "demo-wallet": "own wallet"}
    return demo


def test_view_is_readable_at_80_columns() -> None:
    text = _text(_full_view(), width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    executed = next(line for line in lines if "demo-paper" in line and "EXECUTED" in line)
    for cell in ("12:00:00", "0x5668…5839", "BUY 5.00@0.510", "1.0", "12.3"):
        assert cell in executed, (cell, executed)  # whole cells, not cut
    assert "BELOW_VENUE_MINIMUM" in text  # the reason, whole, under its state
    assert "Demo followers: demo-paper" in text


def test_leader_column_names_the_leader() -> None:
    text = _text(_full_view())
    row = next(line for line in text.splitlines() if "demo-paper" in line and "EXECUTED" in line)
    assert "0x5668…5839" in row
    assert "leader" in text


def test_summary_text_gives_states_reasons_latency_and_pnl() -> None:
    text = summary_text(
        {
            "duration_s": 12.5,
            "signals": 9,
            "copies": {"EXECUTED": 5, "SKIPPED": 2},
            "copies_by_reason": {"SKIPPED:BELOW_VENUE_MINIMUM": 2},
            "signal_to_submit_ms": {"count": 5, "p50": 7.0, "p99": 12.7},
            "pnl_usdc": {"alice": "-1.5", "bob": "2"},
        }
    )
    assert "9 signals, 7 copies" in text
    assert "EXECUTED 5, SKIPPED 2" in text
    assert "SKIPPED:BELOW_VENUE_MINIMUM 2" in text
    assert "p50 7.0 ms, p99 12.7 ms" in text
    assert "alice -1.5000" in text
    assert "bob +2.0000" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_demo_says_who_its_followers_are() -> None:
    from polyhunter.runtime.demo import ProxyDemo, _intro

    text = _intro(
        "0xF1a0000000000000000000000000000000DE3a", ["0x1", "0x2", "0x3"], None, "not run: no anvil"
    )
    assert "demo-paper trades on paper (1000 USDC)" in text
    assert "demo-wallet is an own wallet (0xF1a0…DE3a" in text
    assert "3 leaders" in text
    assert "PROXY follower: not run: no anvil" in text
    proxy = ProxyDemo("http://127.0.0.1:8545", "0x" + "ab" * 20, {}, [("0x1", "k", 1), ("0x2", "k", 1)])
    text = _intro("0xF1a0000000000000000000000000000000DE3a", ["0x1"], proxy, "")
    assert "demo-proxy's money is in its proxy 0xabab…abab on a local anvil chain, 2 fleet workers" in text


def test_summary_text_shows_the_proxy_ledger() -> None:
    proxy = {
        "proxy": "0x" + "ab" * 20,
        "settled": 46,
        "pending": 1,
        "reimbursed": "199.5236",
        "proceeds": "23.9467",
        "commission": "1.117349",
        "open_debt": "0",
    }
    base = {
        "duration_s": 1.0,
        "signals": 1,
        "copies": {},
        "copies_by_reason": {},
        "signal_to_submit_ms": {"count": 0},
        "pnl_usdc": {},
    }
    text = summary_text({**base, "proxy": {"demo-proxy": proxy}})
    assert "demo-proxy 0xabab…abab: 46 settled, 1 pending, open debt 0.0000" in text
    assert "reimbursed 199.5236, proceeds 23.9467, commission 1.1173" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "PROXY follower: not run" in summary_text({**base, "proxy": {}, "proxy_note": "not run: no anvil"})
    direct_ledger = {**proxy, "mode": "DIRECT", "copies": 52, "settled": 50, "pending": 2}
    direct = summary_text({**base, "proxy": {"d": {**direct_ledger, "reimbursed": "0", "proceeds": "0"}}})
    assert "d 0xabab…abab: DIRECT (the exchange settles its orders)" in direct
    assert "52 copies, commission 1.1173 (50 paid, 2 pending), open debt 0.0000" in direct
    assert "reimbursed" not in direct
    assert max(len(line) for line in direct.splitlines()) <= 80
