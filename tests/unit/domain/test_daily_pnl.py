"""The daily PnL series on a hand-computed case: two configs, three UTC days, fills with fees, a SELL,
a redemption of the winning token, and a live mark on the last day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

from polyhunter.domain.daily_pnl import DayPnl, FillEvent, RedeemEvent, daily_series, open_assets
from polyhunter.domain.signal import Side

A, B = "111", "222"  # A: market C (wins), B: market M (open)
C, M = "0x" + "c" * 64, "0x" + "d" * 64


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


FILLS = [
    # config 1 (user 7): 10 A for 4.00 (fee 0.08), 5 B for 3.00; config 2 (user 8): 2 A for 1.00
    FillEvent(at(1, 10), 1, 7, A, C, Side.BUY, D(10), D("4.00"), D("0.08")),
    FillEvent(at(1, 14), 1, 7, B, M, Side.BUY, D(5), D("3.00"), D(0)),
    FillEvent(at(1, 18), 2, 8, A, C, Side.BUY, D(2), D("1.00"), D(0)),
    # day 2: config 1 sells 4 A for 2.40 (fee 0.024), then user 7's market C is redeemed (A wins)
    FillEvent(at(2, 9), 1, 7, A, C, Side.SELL, D(4), D("2.40"), D("0.024")),
]
REDEEMED = [RedeemEvent(at(2, 15), 7, C, A)]


def test_two_days_fill_fee_sell_redemption_and_live_mark() -> None:
    rows = daily_series(FILLS, REDEEMED, date(2026, 12, 3), {B: D("0.70")})
    got = {(r.config_id, r.day.day): r for r in rows}
    assert len(rows) == 6  # two configs x three days (day 3 carries the open positions)
    # day 1, config 1: the fee; A marked at its last fill (0.50, config 2's): 10 x 0.50 - 4.00; B at 0.60: 0
    assert got[(1, 1)] == DayPnl(1, 7, date(2026, 12, 1), D("-0.08"), D("0.08"), D("1.00"), D("7.00"))
    assert got[(2, 1)] == DayPnl(2, 8, date(2026, 12, 1), D(0), D(0), D(0), D("1.00"))
    # day 2, config 1: SELL 4 x (0.60 - 0.40) - 0.024 = 0.776; redemption 6 x 1 - 2.40 = 3.60
    day2 = got[(1, 2)]
    assert (day2.realized, day2.fees, day2.unrealized, day2.invested) == (D("4.376"), D("0.024"), D(0), D(3))
    # config 2 (user 8, not redeemed yet) holds A, now worth 1: 2 x 1 - 1.00
    assert got[(2, 2)].unrealized == D(1)
    assert got[(2, 2)].realized == 0
    # day 3 (today): nothing realized; B at the live mark 0.70: 5 x 0.70 - 3.00
    assert got[(1, 3)] == DayPnl(1, 7, date(2026, 12, 3), D(0), D(0), D("0.50"), D(3))
    # the days add up: payout 6 + proceeds 2.40 - cost of A 4.00 - fees 0.104
    assert sum((r.realized for r in rows if r.config_id == 1), D(0)) == D("4.296")


def test_same_events_same_rows_in_any_order_and_nothing_after_until() -> None:
    until = date(2026, 12, 2)
    once = daily_series(FILLS, REDEEMED, until)
    again = daily_series(list(reversed(FILLS)), REDEEMED, until)
    assert once == again
    assert {r.day for r in once} == {date(2026, 12, 1), date(2026, 12, 2)}
    assert daily_series([], [], until) == []
    # without a live mark, B stays at its last fill on day 3
    (last,) = [
        r for r in daily_series(FILLS, REDEEMED, date(2026, 12, 3)) if (r.config_id, r.day.day) == (1, 3)
    ]
    assert last.unrealized == 0


def test_open_assets_for_live_marks() -> None:
    assert open_assets(FILLS) == {A, B}
    assert open_assets([*FILLS, FillEvent(at(2, 10), 1, 7, B, M, Side.SELL, D(5), D(3), D(0))]) == {A}
