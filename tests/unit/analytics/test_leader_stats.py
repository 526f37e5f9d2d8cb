"""Leader analytics on hand-computed cases (issue 19): three resolved markets with known PnL, win rate,
volume, holding time and drawdown; fees; sells of shares bought before the history; open positions only."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.history import HistoryFill, Resolution
from polyhunter.domain.leader_stats import RankBy, analyze_leader, rank
from polyhunter.domain.signal import Side

LEADER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
D = Decimal


def fill(
    asset: str, side: Side, size: str, price: str, ts: int, fee: str = "0", who: str = LEADER
) -> HistoryFill:
    return HistoryFill(who, asset, "0xc" + asset, side, D(size), D(price), ts, f"0x{ts:064x}", D(fee))


def res(asset: str, payout: str, ts: int | None) -> Resolution:
    return Resolution(asset, "0xc" + asset, D(payout), ts)


# A: BUY 100 @ 0.40 (t=100), resolves YES (t=200): +60, held 100 s.
# B: BUY 50 @ 0.60 (t=300), SELL 20 @ 0.70 (t=400): +2, resolves 0 (t=500): 30 x 0.60 = -18; market -16, held 200 s.
# C: BUY 200 @ 0.10 (t=600), resolves 0 (t=700): -20, held 100 s.
# Equity (PnL, marked at the last print): 0, 60, 60, 65 (50 marked 0.70, then 2 realized + 30 x 0.10), 44, 44, 24.
# Peak 65, then 24: drawdown 41.
THREE = [
    fill("1", Side.BUY, "100", "0.40", 100),
    fill("2", Side.BUY, "50", "0.60", 300),
    fill("2", Side.SELL, "20", "0.70", 400),
    fill("3", Side.BUY, "200", "0.10", 600),
    fill("9", Side.BUY, "1000", "0.5", 650, who=OTHER),  # another wallet's row: not this leader's
]
RESOLVED = {"1": res("1", "1", 200), "2": res("2", "0", 500), "3": res("3", "0", 700)}


def test_three_resolved_markets() -> None:
    s = analyze_leader(LEADER, THREE, RESOLVED, keep_curve=True)
    assert (s.fills, s.markets, s.resolved_markets, s.wins) == (4, 3, 3, 1)
    assert s.realized == D(24)
    assert s.realized_resolved == D(24)
    assert s.unrealized == 0
    assert s.win_rate == D(1) / D(3)
    assert s.volume == D(104)  # 40 + 30 + 14 + 20
    assert s.bought == D(90)
    assert s.roi == D(24) / D(90)
    assert s.max_drawdown == D(41)
    assert s.avg_hold_s == D(400) / D(3)
    assert (s.closed_positions, s.open_positions, s.unmatched_sells) == (3, 0, 0)
    assert [e for _, e in s.curve] == [D(0), D(60), D(60), D(65), D(44), D(44), D(24)]
    assert (s.first_ts, s.last_ts) == (100, 600)


def test_fees_come_out_of_pnl() -> None:
    fills = [
        fill("1", Side.BUY, "100", "0.40", 100, fee="1.5"),
        fill("1", Side.SELL, "100", "0.50", 150, fee="0.5"),
    ]
    s = analyze_leader(LEADER, fills)
    assert s.fees == D(2)
    assert s.realized == D(8)  # 10 - 2
    assert s.resolved_markets == 0
    assert s.win_rate is None
    assert s.closed_positions == 1
    assert s.avg_hold_s == D(50)


def test_only_open_positions() -> None:
    fills = [fill("1", Side.BUY, "100", "0.40", 100), fill("2", Side.BUY, "10", "0.30", 200)]
    s = analyze_leader(LEADER, fills, marks={"1": D("0.55")})
    assert s.realized == 0
    assert s.unrealized == D(15)  # 100 x (0.55 - 0.40); "2" stays at its print
    assert (s.open_positions, s.closed_positions, s.resolved_markets) == (2, 0, 0)
    assert s.win_rate is None
    assert s.avg_hold_s is None
    assert s.max_drawdown == 0


def test_sell_of_shares_bought_before_the_history() -> None:
    s = analyze_leader(LEADER, [fill("1", Side.SELL, "40", "0.90", 100)])
    assert s.unmatched_sells == 1
    assert s.realized == 0
    assert s.volume == D(36)


def test_empty_history() -> None:
    s = analyze_leader(LEADER, [], RESOLVED)
    assert (s.fills, s.markets, s.resolved_markets, s.realized, s.max_drawdown) == (0, 0, 0, D(0), D(0))
    assert s.roi is None
    assert s.first_ts is None


def test_resolution_without_a_time_applies_after_the_last_fill() -> None:
    s = analyze_leader(LEADER, [fill("1", Side.BUY, "10", "0.25", 100)], {"1": res("1", "1", None)})
    assert s.realized == D("7.5")
    assert s.wins == 1


def test_rank() -> None:
    good = analyze_leader(LEADER, THREE, RESOLVED)
    other = analyze_leader(OTHER, THREE[-1:], {"9": res("9", "0", 700)})
    assert [s.leader for s in rank([other, good])] == [LEADER, OTHER]
    assert [s.leader for s in rank([good, other], RankBy.VOLUME)] == [OTHER, LEADER]
    assert [s.leader for s in rank([other, good], RankBy.DRAWDOWN)] == [LEADER, OTHER]
