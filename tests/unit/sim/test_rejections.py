"""Each live rejection string, produced verbatim, and no state change on rejection."""

from __future__ import annotations

import pytest

from polyhunter.domain.signal import Side
from polyhunter.sim import errors
from polyhunter.sim.orders import OrderStatus, OrderType
from tests.support.sim_exchange import M, Sim, new_sim

BUY, SELL = Side.BUY, Side.SELL


def _state(sim: Sim) -> tuple[object, ...]:
    accts = tuple(
        (
            a.address,
            a.cash,
            a.cash_reserved,
            tuple(sorted(a.tokens.items())),
            tuple(sorted(a.tokens_reserved.items())),
        )
        for a in sim.engine.ledger.accounts()
    )
    return accts, sim.engine.book(sim.yes), len(sim.engine.open_orders())


def _rejected(sim: Sim, req: object) -> str:
    before = _state(sim)
    res = sim.engine.submit(req)  # type: ignore[arg-type]
    assert not res.success
    assert res.status == ""
    assert res.making_amount == ""
    assert _state(sim) == before
    return res.error


@pytest.mark.parametrize(
    ("tick", "price", "shown"),
    [
        ("0.01", "0.535", "0.535"),
        ("0.01", "1", "1"),
        ("0.01", "0", "0"),
        ("0.1", "0.55", "0.55"),
        ("0.005", "0.5025", "0.5025"),
        ("0.0025", "0.50125", "0.50125"),
        ("0.001", "0.0005", "0.0005"),
    ],
)
def test_tick_rule(tick: str, price: str, shown: str) -> None:
    sim = new_sim(tick=tick)
    req = sim.order("alice", sim.yes, BUY, price, "10", order_id="0xabc")
    assert (
        _rejected(sim, req)
        == f"order 0xabc is invalid. Price ({shown}) breaks minimum tick size rule: {tick}"
    )


@pytest.mark.parametrize(("tick", "price"), [("0.005", "0.995"), ("0.0025", "0.0025"), ("0.0001", "0.4321")])
def test_prices_on_new_ticks_are_accepted(tick: str, price: str) -> None:
    sim = new_sim(tick=tick)
    res = sim.engine.submit(sim.order("alice", sim.yes, BUY, price, "10"))
    assert res.success, res.error
    assert sim.engine.book(sim.yes).best_bid == sim.order("a", sim.yes, BUY, price, "1").price


def test_min_size_for_resting_orders(sim: Sim) -> None:
    req = sim.order("alice", sim.yes, BUY, "0.5", "4.99", order_id="0xdef")
    assert _rejected(sim, req) == "order 0xdef is invalid. Size (4.99) lower than the minimum: 5"
    gtd = sim.order(
        "alice", sim.yes, SELL, "0.5", "3", OrderType.GTD, order_id="0x1", expiration=2_000_000_000
    )
    assert _rejected(sim, gtd) == "order 0x1 is invalid. Size (3) lower than the minimum: 5"


def test_min_size_does_not_apply_to_fak(sim: Sim) -> None:
    assert sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.5", "10")).success
    res = sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.5", "2", OrderType.FAK))
    assert res.success
    assert (res.making_amount, res.taking_amount) == ("1", "2")


def test_marketable_buy_below_one_dollar(sim: Sim) -> None:
    assert sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.1", "50")).success
    fak = sim.order("alice", sim.yes, BUY, "0.5", "1.5", OrderType.FAK)
    assert _rejected(sim, fak) == "invalid amount for a marketable BUY order ($0.75), min size: $1"
    crossing_gtc = sim.order("alice", sim.yes, BUY, "0.1", "5")
    assert _rejected(sim, crossing_gtc) == "invalid amount for a marketable BUY order ($0.5), min size: $1"
    # the same order resting (not crossing) is fine
    assert sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.09", "5")).status == "live"


def test_duplicated_order_id(sim: Sim) -> None:
    assert sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.4", "10", order_id="0x77")).success
    again = sim.order("bob", sim.yes, BUY, "0.3", "10", order_id="0x77")
    assert _rejected(sim, again) == "order 0x77 is invalid. Duplicated."


def test_fok_killed_when_not_fully_fillable(sim: Sim) -> None:
    assert sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.5", "5")).success
    assert sim.engine.submit(sim.order("carol", sim.no, BUY, "0.45", "5")).success  # YES offered at 0.55
    fok = sim.order("alice", sim.yes, BUY, "0.55", "10.01", OrderType.FOK)
    assert _rejected(sim, fok) == errors.FOK_NOT_FILLED
    assert errors.FOK_NOT_FILLED == "order couldn't be fully filled. FOK orders are fully filled or killed."
    ok = sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.55", "10", OrderType.FOK))
    assert ok.success
    assert ok.status == "matched"
    assert (ok.making_amount, ok.taking_amount) == ("5.25", "10")


def test_fak_without_match(sim: Sim) -> None:
    sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.6", "10"))
    fak = sim.order("alice", sim.yes, BUY, "0.59", "10", OrderType.FAK)
    assert _rejected(sim, fak) == (
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    )


def test_fak_partial_fill_cancels_rest(sim: Sim) -> None:
    sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.47", "5"))
    res = sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.47", "10", OrderType.FAK, order_id="0xfa"))
    assert (res.status, res.making_amount, res.taking_amount) == ("matched", "2.35", "5")
    view = sim.engine.order("0xfa")
    assert view is not None
    assert view.status is OrderStatus.MATCHED
    assert view.size_matched == 5 * M
    assert sim.engine.book(sim.yes).bids == ()
    assert sim.engine.account("alice").cash_reserved == 0


def test_post_only_crossing_direct_and_via_complement(sim: Sim) -> None:
    sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.6", "10"))
    direct = sim.order("alice", sim.yes, BUY, "0.6", "10", post_only=True)
    assert _rejected(sim, direct) == "invalid post-only order: order crosses book"
    sim.engine.submit(sim.order("carol", sim.no, BUY, "0.45", "10"))  # offers YES at 0.55
    via_no = sim.order("alice", sim.yes, BUY, "0.55", "10", post_only=True)
    assert _rejected(sim, via_no) == errors.POST_ONLY_CROSSES
    ok = sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.54", "10", post_only=True))
    assert ok.status == "live"


def test_post_only_only_for_resting_types(sim: Sim) -> None:
    req = sim.order("alice", sim.yes, BUY, "0.5", "10", OrderType.FOK, post_only=True)
    assert _rejected(sim, req) == errors.INVALID_PAYLOAD


def test_not_enough_balance_buy_and_sell() -> None:
    sim = new_sim()
    sim.engine.deposit("erin", 10 * M)
    assert _rejected(sim, sim.order("erin", sim.yes, BUY, "0.5", "20.02")) == "not enough balance / allowance"
    assert sim.engine.submit(sim.order("erin", sim.yes, BUY, "0.5", "20")).success
    # the first order's reservation counts against the next one
    assert _rejected(sim, sim.order("erin", sim.yes, BUY, "0.01", "5")) == errors.NOT_ENOUGH_BALANCE
    assert _rejected(sim, sim.order("erin", sim.yes, SELL, "0.5", "5")) == errors.NOT_ENOUGH_BALANCE
    assert sim.engine.submit(sim.order("alice", sim.yes, SELL, "0.9", "100")).success
    assert _rejected(sim, sim.order("alice", sim.yes, SELL, "0.9", "5")) == errors.NOT_ENOUGH_BALANCE


def test_allowance_and_ctf_approval_are_checked() -> None:
    sim = new_sim()
    sim.engine.deposit("frank", 100 * M, approve=False)
    assert _rejected(sim, sim.order("frank", sim.yes, BUY, "0.5", "10")) == errors.NOT_ENOUGH_BALANCE
    sim.engine.ledger.approve("frank", 4 * M)
    assert _rejected(sim, sim.order("frank", sim.yes, BUY, "0.5", "10")) == errors.NOT_ENOUGH_BALANCE
    assert sim.engine.submit(sim.order("frank", sim.yes, BUY, "0.5", "8")).success
    sim.engine.split("frank", sim.market.condition_id, 10 * M)
    assert _rejected(sim, sim.order("frank", sim.no, SELL, "0.5", "10")) == errors.NOT_ENOUGH_BALANCE
    sim.engine.ledger.set_ctf_approval("frank")
    assert sim.engine.submit(sim.order("frank", sim.no, SELL, "0.7", "10")).success


def test_finite_allowance_is_consumed_by_fills() -> None:
    sim = new_sim()
    sim.engine.deposit("gina", 100 * M, approve=False)
    sim.engine.ledger.approve("gina", 6 * M)
    sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.5", "20"))
    assert sim.engine.submit(sim.order("gina", sim.yes, BUY, "0.5", "10", OrderType.FOK)).success
    assert sim.engine.account("gina").allowance == 1 * M
    assert (
        _rejected(sim, sim.order("gina", sim.yes, BUY, "0.5", "4", OrderType.FOK))
        == errors.NOT_ENOUGH_BALANCE
    )


def test_expiration_rules(sim: Sim) -> None:
    now_s = sim.clock.now_ms // 1000
    past = sim.order("alice", sim.yes, BUY, "0.5", "10", OrderType.GTD, expiration=now_s)
    assert _rejected(sim, past) == "invalid expiration"
    gtc_with_exp = sim.order("alice", sim.yes, BUY, "0.5", "10", expiration=now_s + 100)
    assert _rejected(sim, gtc_with_exp) == errors.INVALID_EXPIRATION


def test_closed_market_and_unknown_token(sim: Sim) -> None:
    sim.engine.set_market_status(sim.market.condition_id, active=True, closed=True)
    assert _rejected(sim, sim.order("alice", sim.yes, BUY, "0.5", "10")) == errors.MARKET_NOT_READY
    assert _rejected(sim, sim.order("alice", "123", BUY, "0.5", "10")) == "Invalid order payload"


def test_rejected_order_id_can_be_reused(sim: Sim) -> None:
    fok = sim.order("alice", sim.yes, BUY, "0.5", "10", OrderType.FOK, order_id="0x5")
    assert sim.engine.submit(fok).error == errors.FOK_NOT_FILLED
    assert sim.engine.order("0x5") is None
    assert sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.5", "10", order_id="0x5")).success
