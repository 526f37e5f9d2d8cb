"""The copy backtest on hand-computed cases (issue 19): the three-market history file, replayed for a
follower whose budget lets every copy through and one whose default budget does not; sizing modes,
sell mirroring, guardrails, the venue minimum with aggregation, funds, fees."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from polyhunter.analytics.backtest_setup import backtest_rules
from polyhunter.analytics.history_file import read_history
from polyhunter.domain.backtest import BacktestRules, FollowerPlan, copy_price, run_backtest
from polyhunter.domain.copy_config import CopyConfig, SizingMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.history import HistoryFill, Resolution, taker_fee
from polyhunter.domain.signal import Side
from polyhunter.runtime.backtest_plans import follower_plans
from polyhunter.runtime.run_file import RunFile
from polyhunter.settings import Settings

HISTORY = Path(__file__).resolve().parents[2] / "fixtures" / "history" / "three_markets.json"
LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
D = Decimal
LIMITS = GuardrailLimits(D(1000), D(5000), D(100000))


def run_file(**copy: object) -> RunFile:
    return RunFile.model_validate(
        {
            "followers": [
                {
                    "name": "alice",
                    "starting_cash_usdc": "1000",
                    "copies": [
                        {
                            "leader": LEADER,
                            "sizing": "FIXED_USDC",
                            "sizing_value": "10",
                            "max_slippage_bps": 1000,
                        }
                    ],
                },
                {
                    "name": "bob",
                    "starting_cash_usdc": "500",
                    "copies": [{"leader": LEADER, "sizing": "FIXED_USDC", "sizing_value": "10", **copy}],
                },
            ]
        }
    )


def test_three_markets_hand_computed() -> None:
    """alice: A 25 @ 0.41 (10.25) pays 25: +14.75. B 16.66 @ 0.61 (10.1626); the leader sells 20 of 50,
    alice 6.66 @ 0.69: +0.5328; the other 10 (6.10) pay 0. C 100 @ 0.11 (11) pays 0.
    Realized 14.75 + 0.5328 - 6.10 - 11 = -1.8172. Equity: 1000, 999.75, 1014.75, 1014.5834,
    1016.1828 (the peak: 10 left marked at the leader's 0.70), 1009.1828, 1008.1828, 998.1828:
    drawdown 18. bob's default budget (200 bps) refuses one tick at 0.40 and 0.10."""
    history = read_history(HISTORY)
    rules = backtest_rules(Settings(), history)
    alice, bob = run_backtest(
        history.fills, history.resolutions, history.marks, rules, follower_plans(run_file())
    )
    assert alice.copies == 4
    assert not alice.skipped
    assert alice.ledger.bought == D("31.4126")
    assert alice.ledger.realized == D("-1.8172")
    assert alice.ledger.unrealized == 0
    assert alice.ledger.equity == D("998.1828")
    assert alice.ledger.max_drawdown == D(18)
    assert [e for _, e in alice.ledger.curve] == [
        D(1000),
        D("999.75"),
        D("1014.75"),
        D("1014.5834"),
        D("1016.1828"),
        D("1009.1828"),
        D("998.1828"),
    ]  # 1008.1828 and 998.1828 share the second of C's buy and its (timeless) resolution
    assert alice.slippage == D("0.25") + D("0.1666") + D("0.0666") + D(1)
    assert bob.copies == 2
    assert dict(bob.skipped) == {"SLIPPAGE_EXCEEDED": 2}
    assert bob.ledger.realized == D("0.5328") - D("6.10")


def fill(asset: str, side: Side, size: str, price: str, ts: int, fee: str = "0") -> HistoryFill:
    return HistoryFill(LEADER, asset, "0xc" + asset, side, D(size), D(price), ts, f"0x{ts:x}", D(fee))


def plan(cash: str = "1000", **cfg: object) -> FollowerPlan:
    fields: dict[str, object] = {
        "sizing": SizingMode.FIXED_USDC,
        "sizing_value": D(10),
        "max_slippage_bps": 10000,
    }
    fields.update(cfg)
    config = CopyConfig(id=1, version=1, user_id=1, leader=LEADER, **fields)  # type: ignore[arg-type]
    return FollowerPlan("f", 1, D(cash), (config,))


def rules(**kw: object) -> BacktestRules:
    return BacktestRules(limits=kw.pop("limits", LIMITS), **kw)  # type: ignore[arg-type]


def test_copy_price_is_one_tick_against_the_follower() -> None:
    assert copy_price(Side.BUY, D("0.40"), D("0.01"), 1) == D("0.41")
    assert copy_price(Side.BUY, D("0.405"), D("0.01"), 1) == D("0.41")
    assert copy_price(Side.SELL, D("0.405"), D("0.01"), 1) == D("0.40")
    assert copy_price(Side.SELL, D("0.01"), D("0.01"), 1) == D("0.01")  # clamped to the tick
    assert copy_price(Side.BUY, D("0.99"), D("0.01"), 1) == D("0.99")


def test_multiplier_and_partial_sell_mirroring() -> None:
    fills = [fill("1", Side.BUY, "100", "0.50", 10), fill("1", Side.SELL, "25", "0.60", 20)]
    (run,) = run_backtest(fills, {}, {}, rules(), [plan(sizing=SizingMode.MULTIPLIER, sizing_value=D("0.5"))])
    assert run.copies == 2
    assert run.ledger.shares("1") == D("37.50")  # 50 bought, a quarter sold
    assert run.ledger.realized == D("12.50") * (D("0.59") - D("0.51"))


def test_guardrails_daily_cap_per_utc_day() -> None:
    day = 86_400 * 20_000
    fills = [fill("1", Side.BUY, "100", "0.50", day + i) for i in range(3)] + [
        fill("1", Side.BUY, "100", "0.50", day + 86_400)
    ]
    limited = rules(limits=GuardrailLimits(D(1000), D(25), D(100000)))
    (run,) = run_backtest(fills, {}, {}, limited, [plan()])
    assert run.copies == 3  # two on the first day (9.99 + 9.99), the third is over 25, one the next day
    assert dict(run.skipped) == {"USER_DAILY_CAP": 1}


def test_follower_per_trade_max_is_the_stricter() -> None:
    plans = [FollowerPlan("f", 1, D(1000), plan().configs, max_trade_usdc=D(5))]
    (run,) = run_backtest([fill("1", Side.BUY, "100", "0.50", 10)], {}, {}, rules(), plans)
    assert dict(run.skipped) == {"PER_TRADE_MAX": 1}


def test_below_the_venue_minimum_copies_aggregate() -> None:
    small = plan(sizing=SizingMode.FIXED_USDC, sizing_value=D("0.40"))
    fills = [fill("1", Side.BUY, "10", "0.50", 10 + i) for i in range(3)]
    (run,) = run_backtest(fills, {}, {}, rules(), [small])
    assert run.copies == 1  # 0.80 shares x 0.51 three times: released once the sum is over $1
    assert run.aggregated == 2
    assert run.ledger.shares("1") == D("2.40")


def test_aggregates_that_never_reach_the_minimum_are_skipped() -> None:
    small = plan(sizing=SizingMode.FIXED_USDC, sizing_value=D("0.40"))
    (run,) = run_backtest([fill("1", Side.BUY, "10", "0.50", 10)], {}, {}, rules(), [small])
    assert run.copies == 0
    assert dict(run.skipped) == {"BELOW_VENUE_MINIMUM": 1}
    no_agg = plan(sizing=SizingMode.FIXED_USDC, sizing_value=D("0.40"), aggregate_below_minimum=False)
    (run,) = run_backtest([fill("1", Side.BUY, "10", "0.50", 10)], {}, {}, rules(), [no_agg])
    assert dict(run.skipped) == {"BELOW_VENUE_MINIMUM": 1}


def test_funds_and_fees() -> None:
    fills = [fill("1", Side.BUY, "100", "0.50", 10), fill("1", Side.BUY, "100", "0.50", 11)]
    (run,) = run_backtest(fills, {}, {}, rules(default_fee_rate=D("0.04")), [plan(cash="15")])
    fee = taker_fee(D("0.04"), D(20), D("0.51"))  # 10 USDC at the leader's 0.50: 20 shares, at 0.51
    assert fee == D("0.19992")
    assert run.copies == 1
    assert dict(run.skipped) == {"INSUFFICIENT_BALANCE": 1}
    assert run.ledger.fees == fee
    assert run.ledger.cash == D(15) - D(20) * D("0.51") - fee


def test_copies_after_a_resolution_are_skipped_and_open_positions_marked() -> None:
    fills = [
        fill("1", Side.BUY, "100", "0.50", 10),
        fill("1", Side.BUY, "100", "0.50", 30),
        fill("2", Side.BUY, "10", "0.20", 40),
    ]
    res = {"1": Resolution("1", "0xc1", D(1), 20)}
    (run,) = run_backtest(fills, res, {"2": D("0.30")}, rules(), [plan()])
    assert dict(run.skipped) == {"MARKET_RESOLVED": 1}
    assert run.ledger.realized == D(20) * (1 - D("0.51"))
    assert run.ledger.unrealized == D(50) * (D("0.30") - D("0.21"))  # marked at the end mark, not the print


def test_empty_history() -> None:
    (run,) = run_backtest([], {}, {}, rules(), [plan()])
    assert run.copies == 0
    assert run.ledger.equity == D(1000)
    assert run.ledger.max_drawdown == 0
