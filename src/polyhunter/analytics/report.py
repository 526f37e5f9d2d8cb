"""What `leaders rank` and `backtest` print: JSON objects (amounts as decimal strings) and text tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polyhunter.domain.backtest import CopyFill, FollowerRun
from polyhunter.domain.leader_stats import LeaderStats
from polyhunter.settings import SettingsError

CENT = Decimal("0.01")


def utc_seconds(option: str, value: str | None) -> int | None:
    """`2026-09-01` or an ISO 8601 time (UTC unless it names its zone) as epoch seconds."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{option} {value!r}: expected a date (2026-09-01) or an ISO 8601 time") from None
    return int((at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp())


def _usdc(x: Decimal) -> str:
    return str(x.quantize(Decimal("0.000001")))


def _ratio(x: Decimal | None) -> str | None:
    return None if x is None else str(x.quantize(Decimal("0.0001")))


def leader_json(s: LeaderStats) -> dict[str, Any]:
    return {
        "leader": s.leader,
        "fills": s.fills,
        "markets": s.markets,
        "resolved_markets": s.resolved_markets,
        "wins": s.wins,
        "win_rate": _ratio(s.win_rate),
        "realized_pnl_resolved": _usdc(s.realized_resolved),
        "realized_pnl": _usdc(s.realized),
        "unrealized_pnl": _usdc(s.unrealized),
        "total_pnl": _usdc(s.total_pnl),
        "roi": _ratio(s.roi),
        "volume": _usdc(s.volume),
        "bought": _usdc(s.bought),
        "fees": _usdc(s.fees),
        "max_drawdown": _usdc(s.max_drawdown),
        "open_positions": s.open_positions,
        "closed_positions": s.closed_positions,
        "avg_hold_hours": _ratio(s.avg_hold_s / 3600 if s.avg_hold_s is not None else None),
        "unmatched_sells": s.unmatched_sells,
        "first_fill": s.first_ts,
        "last_fill": s.last_ts,
    }


def _pct(x: Decimal | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def leaders_table(ranked: list[LeaderStats], by: str) -> str:
    head = (
        f"{'#':>2} {'leader':<42} {'pnl resolved':>13} {'total pnl':>11} {'roi':>7} {'win':>7} "
        f"{'resolved':>8} {'markets':>7} {'volume':>12} {'max dd':>10} {'hold h':>7}"
    )
    lines = [f"leaders ranked by {by}", head]
    for i, s in enumerate(ranked, start=1):
        hold = "-" if s.avg_hold_s is None else f"{s.avg_hold_s / 3600:.1f}"
        lines.append(
            f"{i:>2} {s.leader:<42} {s.realized_resolved.quantize(CENT):>13} {s.total_pnl.quantize(CENT):>11} "
            f"{_pct(s.roi):>7} {_pct(s.win_rate):>7} {s.resolved_markets:>8} {s.markets:>7} "
            f"{s.volume.quantize(CENT):>12} {s.max_drawdown.quantize(CENT):>10} {hold:>7}"
        )
    if not ranked:
        lines.append("(no fills of these leaders in the history)")
    return "\n".join(lines)


def copy_json(c: CopyFill) -> dict[str, Any]:
    return {
        "signal_key": c.signal_key,
        "time": c.timestamp,
        "asset": c.asset,
        "side": str(c.side),
        "shares": str(c.shares),
        "price": str(c.price),
        "leader_price": str(c.leader_price),
        "fee": str(c.fee),
    }


def follower_json(run: FollowerRun, *, with_copies: bool = False) -> dict[str, Any]:
    led = run.ledger
    out: dict[str, Any] = {
        "follower": run.plan.name,
        "starting_cash": _usdc(led.starting),
        "copies": run.copies,
        "aggregated": run.aggregated,
        "skipped": dict(sorted(run.skipped.items())),
        "invested": _usdc(led.bought),
        "fees": _usdc(led.fees),
        "realized_pnl": _usdc(led.realized),
        "unrealized_pnl": _usdc(led.unrealized),
        "equity": _usdc(led.equity),
        "max_drawdown": _usdc(led.max_drawdown),
        "slippage_vs_leader": _usdc(run.slippage),
        "open_positions": len(led.positions),
    }
    if with_copies:
        out["copy_fills"] = [copy_json(c) for c in run.fills]
    return out


def backtest_text(runs: list[FollowerRun], notes: list[str]) -> str:
    lines = []
    for run in runs:
        led = run.ledger
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(run.skipped.items())) or "none"
        lines += [
            f"follower {run.plan.name}: {run.copies} copies"
            + (f" (+{run.aggregated} aggregated into them)" if run.aggregated else ""),
            f"  skipped: {skipped}",
            f"  invested {led.bought.quantize(CENT)}  fees {led.fees.quantize(CENT)}  "
            f"realized {led.realized.quantize(CENT)}  unrealized {led.unrealized.quantize(CENT)}",
            f"  equity {led.starting.quantize(CENT)} -> {led.equity.quantize(CENT)}  "
            f"max drawdown {led.max_drawdown.quantize(CENT)}  slippage vs leader {run.slippage.quantize(CENT)}",
        ]
    return "\n".join(lines + [f"note: {n}" for n in notes])
