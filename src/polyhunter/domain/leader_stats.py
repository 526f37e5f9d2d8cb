"""A leader's record from its history: PnL, win rate, volume, drawdown, markets, holding time. Pure.

The leader's account is a `Ledger` starting at 0: its equity is its PnL (realized, net of the fees
it paid, plus open positions marked at the last price the history printed for them, or at the end
marks). Over resolved markets (a market with a resolution of a token the leader traded):

* ``realized_resolved``: what the leader made in those markets, trading and redemption, net of fees;
* ``win_rate``: the share of them where that was more than zero.

``max_drawdown`` is the largest fall of that equity curve from an earlier peak (USDC; the curve starts
at 0). ``avg_hold_s`` averages the positions that went back to zero shares (sold out or resolved), from
the fill that opened them. ``roi`` is total PnL over USDC put into BUYs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.history import HistoryFill, Resolution
from polyhunter.domain.ledger import ZERO, Ledger
from polyhunter.domain.signal import Side


class RankBy(StrEnum):
    PNL = "pnl"  # realized over resolved markets
    TOTAL_PNL = "total_pnl"
    ROI = "roi"
    WIN_RATE = "win_rate"
    VOLUME = "volume"
    DRAWDOWN = "drawdown"  # smallest first


@dataclass(frozen=True, slots=True)
class LeaderStats:
    leader: str
    fills: int
    markets: int
    volume: Decimal
    bought: Decimal
    fees: Decimal
    realized: Decimal
    unrealized: Decimal
    resolved_markets: int
    wins: int
    realized_resolved: Decimal
    max_drawdown: Decimal
    closed_positions: int
    open_positions: int
    avg_hold_s: Decimal | None
    unmatched_sells: int
    first_ts: int | None
    last_ts: int | None
    curve: tuple[tuple[int, Decimal], ...] = field(default=(), compare=False)

    @property
    def total_pnl(self) -> Decimal:
        return self.realized + self.unrealized

    @property
    def win_rate(self) -> Decimal | None:
        return Decimal(self.wins) / Decimal(self.resolved_markets) if self.resolved_markets else None

    @property
    def roi(self) -> Decimal | None:
        return self.total_pnl / self.bought if self.bought > 0 else None


def _apply(ledger: Ledger, fill: HistoryFill) -> None:
    if fill.side is Side.BUY:
        ledger.buy(fill.asset, fill.condition_id, fill.size, fill.price, fill.timestamp)
    else:
        ledger.sell(fill.asset, fill.condition_id, fill.size, fill.price, fill.timestamp)
    ledger.fee(fill.condition_id, fill.fee)


def analyze_leader(
    leader: str,
    fills: Iterable[HistoryFill],
    resolutions: Mapping[str, Resolution] | None = None,
    marks: Mapping[str, Decimal] | None = None,
    *,
    keep_curve: bool = False,
) -> LeaderStats:
    """`fills`: this leader's fills in time order. A resolution applies after the fills of its second
    (one without a time after the last fill); `marks` value what is still open at the end."""
    leader = leader.lower()
    ledger = Ledger()
    pending = sorted(
        (resolutions or {}).values(),
        key=lambda r: (r.timestamp is None, r.timestamp if r.timestamp is not None else 0),
    )
    traded: set[str] = set()
    resolved: set[str] = set()
    count, first, last = 0, None, None
    latest = [0]  # the time of the last event applied

    def settle(until: int | None, at: int) -> None:
        while pending and (
            until is None or (pending[0].timestamp is not None and pending[0].timestamp < until)
        ):
            res = pending.pop(0)
            when = res.timestamp if res.timestamp is not None else at
            if res.condition_id in traded:
                resolved.add(res.condition_id)
                ledger.resolve(res.asset, res.condition_id, res.payout, when)
                ledger.record(when, keep_curve=keep_curve)
                latest[0] = max(latest[0], when)

    for fill in fills:
        if fill.leader != leader:
            continue
        settle(fill.timestamp, fill.timestamp)
        traded.add(fill.condition_id)
        _apply(ledger, fill)
        ledger.record(fill.timestamp, keep_curve=keep_curve)
        count += 1
        first = fill.timestamp if first is None else first
        last = fill.timestamp
        latest[0] = max(latest[0], last)
    end = last if last is not None else 0
    settle(None, end)
    for asset, price in (marks or {}).items():
        if asset in ledger.positions:
            ledger.mark(asset, price)
    ledger.record(latest[0], keep_curve=keep_curve)
    holds = [c.held_s for c in ledger.closed]
    return LeaderStats(
        leader=leader,
        fills=count,
        markets=len(traded),
        volume=ledger.volume,
        bought=ledger.bought,
        fees=ledger.fees,
        realized=ledger.realized,
        unrealized=ledger.unrealized,
        resolved_markets=len(resolved),
        wins=sum(1 for cid in resolved if ledger.market_pnl.get(cid, ZERO) > 0),
        realized_resolved=sum((ledger.market_pnl.get(cid, ZERO) for cid in resolved), ZERO),
        max_drawdown=ledger.max_drawdown,
        closed_positions=len(holds),
        open_positions=len(ledger.positions),
        avg_hold_s=Decimal(sum(holds)) / Decimal(len(holds)) if holds else None,
        unmatched_sells=ledger.unmatched_sells,
        first_ts=first,
        last_ts=last,
        curve=tuple(ledger.curve),
    )


def _key(stats: LeaderStats, by: RankBy) -> Decimal:
    match by:
        case RankBy.PNL:
            return stats.realized_resolved
        case RankBy.TOTAL_PNL:
            return stats.total_pnl
        case RankBy.ROI:
            return stats.roi if stats.roi is not None else Decimal("-Infinity")
        case RankBy.WIN_RATE:
            return stats.win_rate if stats.win_rate is not None else Decimal(-1)
        case RankBy.VOLUME:
            return stats.volume
        case RankBy.DRAWDOWN:
            return -stats.max_drawdown
    raise ValueError(f"unknown ranking {by!r}")


def rank(stats: Iterable[LeaderStats], by: RankBy = RankBy.PNL) -> list[LeaderStats]:
    """Best first; ties by total PnL, then address (a stable order)."""
    return sorted(stats, key=lambda s: (-_key(s, by), -s.total_pnl, s.leader))
