"""The live backtest's fill model on hand-computed cases: the price at fill time plus latency, the
worse-of base, the modelled book walk, and a backtest whose copies it prices."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.backtest import BacktestRules, FollowerPlan, run_backtest
from polyhunter.domain.copy_config import CopyConfig, SizingMode
from polyhunter.domain.fill_model import (
    HistoryPricer,
    PricePoint,
    base_price,
    model_book,
    model_fill,
    price_at,
)
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.history import HistoryFill
from polyhunter.domain.signal import Side

D = Decimal
TICK = D("0.01")
LEADER = "0x" + "ab" * 20
CID = "0x" + "01" * 32
TOKEN = "123"
POINTS = [PricePoint(100, D("0.50")), PricePoint(160, D("0.55")), PricePoint(220, D("0.60"))]


def test_price_at_is_the_last_point_at_or_before() -> None:
    assert price_at(POINTS, 99) is None
    assert price_at(POINTS, 100) == D("0.50")
    assert price_at(POINTS, 159.9) == D("0.50")
    assert price_at(POINTS, 160) == D("0.55")
    assert price_at(POINTS, 10_000) == D("0.60")
    assert price_at([], 100) is None


def test_base_is_the_worse_of_print_and_market() -> None:
    assert base_price(Side.BUY, D("0.52"), D("0.50")) == D("0.52")
    assert base_price(Side.BUY, D("0.52"), D("0.55")) == D("0.55")
    assert base_price(Side.SELL, D("0.52"), D("0.50")) == D("0.50")
    assert base_price(Side.SELL, D("0.52"), D("0.55")) == D("0.52")
    assert base_price(Side.BUY, D("0.52"), None) == D("0.52")


def test_book_walk_hand_computed() -> None:
    # BUY 1200 from 0.503: levels 0.51, 0.52, 0.53 of 500: 255 + 260 + 106 = 621, vwap 0.5175
    walk = model_fill(Side.BUY, D(1200), D("0.503"), TICK, D(500))
    assert (walk.shares, walk.cost, walk.worst_price, walk.complete) == (D(1200), D("621"), D("0.53"), True)
    assert walk.vwap == D("0.5175")
    # within the first level: the base rounded against the follower
    walk = model_fill(Side.SELL, D(100), D("0.507"), TICK, D(500))
    assert (walk.vwap, walk.worst_price) == (D("0.50"), D("0.50"))
    # SELL 700 from 0.50: 500 @ 0.50 + 200 @ 0.49 = 348, vwap 0.497142...
    walk = model_fill(Side.SELL, D(700), D("0.50"), TICK, D(500))
    assert walk.cost == D("348")
    assert walk.worst_price == D("0.49")
    # the book ends at 1 - tick: a BUY past it fills partly
    walk = model_fill(Side.BUY, D(1200), D("0.985"), TICK, D(500))
    assert (walk.shares, walk.worst_price, walk.complete) == (D(500), D("0.99"), False)
    side = model_book(Side.BUY, D("0.5"), TICK, D(10), 3)
    assert [lv.price for lv in side.levels] == [D("0.50"), D("0.51"), D("0.52")]


def _signal(price: str, ts: int = 100, side: Side = Side.BUY) -> HistoryFill:
    return HistoryFill(LEADER, TOKEN, CID, side, D(100), D(price), ts, tx_hash="0x" + "cd" * 32)


def test_pricer_reads_the_history_at_fill_time_plus_latency() -> None:
    fill = _signal("0.50").signal()
    for latency_ms, expected in ((0, "0.50"), (59_999, "0.50"), (60_000, "0.55"), (130_000, "0.60")):
        pricer = HistoryPricer({TOKEN: POINTS}, latency_ms, D(500))
        priced = pricer.fill(fill, D(20), TICK)
        assert (priced.price, priced.worst, priced.shares) == (D(expected), D(expected), D(20))
        assert pricer.priced_from_history == 1
    pricer = HistoryPricer({TOKEN: POINTS}, 0, D(500))
    early = _signal("0.47", ts=50).signal()  # no point that early: the leader's print
    assert pricer.fill(early, D(20), TICK).price == D("0.47")
    assert pricer.priced_from_print == 1
    # a SELL at 0.58 with the market at 0.55: 500 @ 0.55 + 100 @ 0.54 = 329 for 600
    sell = _signal("0.58", ts=170, side=Side.SELL).signal()
    priced = pricer.fill(sell, D(600), TICK)
    assert (priced.price, priced.worst) == (D("329") / 600, D("0.54"))


def test_backtest_with_the_pricer_hand_computed() -> None:
    """FIXED_USDC 10 on a BUY at 0.50: 20 shares. Latency 0: at 0.50, no slippage; 60 s: at 0.55,
    slippage 20 x 0.05 = 1.00, fee 0.04 x 20 x 0.55 x 0.45 = 0.198; 130 s: 0.60 is past a 1000 bps
    budget (0.55): skipped."""
    cfg = CopyConfig(
        id=1,
        version=1,
        user_id=1,
        leader=LEADER,
        sizing=SizingMode.FIXED_USDC,
        sizing_value=D(10),
        max_slippage_bps=1000,
    )
    plan = FollowerPlan("alice", 1, D(1000), (cfg,))
    out = {}
    for latency_ms in (0, 60_000, 130_000):
        rules = BacktestRules(
            limits=GuardrailLimits(D(1000), D(5000), D(100000)),
            ticks={CID: TICK},
            fee_rates={CID: D("0.04")},
            pricer=HistoryPricer({TOKEN: POINTS}, latency_ms, D(500)),
        )
        (run,) = run_backtest([_signal("0.50")], {}, {}, rules, [plan])
        out[latency_ms] = run
    assert (out[0].copies, out[0].slippage, out[0].ledger.fees) == (1, D(0), D("0.2"))
    assert (out[60_000].copies, out[60_000].slippage, out[60_000].ledger.fees) == (1, D("1.00"), D("0.198"))
    assert out[130_000].copies == 0
    assert dict(out[130_000].skipped) == {"SLIPPAGE_EXCEEDED": 1}
