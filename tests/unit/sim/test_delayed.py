"""Markets with a match delay: marketable orders answer "delayed" and match when the delay is over."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.events import OrderEvent, OrderEventKind, TradeEvent
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.markets import make_market
from polyhunter.sim.orders import OrderStatus, OrderType
from tests.support.sim_exchange import FakeClock, M, Sim

BUY, SELL = Side.BUY, Side.SELL


def _delayed_sim(delay_ms: int = 3_000) -> Sim:
    clock = FakeClock()
    engine = SimExchange(clock, seed="delay")
    market = engine.add_market(make_market("delay", 0, match_delay_ms=delay_ms))
    for who in ("alice", "bob"):
        engine.deposit(who, 1_000 * M)
        engine.split(who, market.condition_id, 100 * M)
    return Sim(engine, clock, market)


def test_marketable_order_is_delayed_then_matched() -> None:
    sim = _delayed_sim()
    eng = sim.engine
    resting = eng.submit(sim.order("bob", sim.yes, SELL, "0.60", "10", order_id="0xm"))
    assert resting.status == "live"  # not marketable: rests at once
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.60", "10", OrderType.FAK, order_id="0xt"))
    assert (res.success, res.status, res.making_amount, res.taking_amount) == (True, "delayed", "0", "0")
    view = eng.order("0xt")
    assert view is not None
    assert view.status is OrderStatus.DELAYED
    assert eng.account("alice").cash_reserved == 6 * M
    sim.clock.advance(2_999)
    assert eng.run_due() == []
    sim.clock.advance(1)
    events = eng.run_due()
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert len(trades) == 1
    assert trades[0].timestamp_ms == sim.clock.now_ms
    update = events[0]
    assert isinstance(update, OrderEvent)
    assert (update.kind, update.order.status) == (OrderEventKind.UPDATE, OrderStatus.MATCHED)
    assert eng.account("alice").cash_reserved == 0
    assert eng.account("alice").tokens[sim.yes] == 110 * M


def test_delayed_fok_is_killed_if_the_book_moved() -> None:
    sim = _delayed_sim()
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.60", "10", order_id="0xm"))
    assert (
        eng.submit(sim.order("alice", sim.yes, BUY, "0.60", "10", OrderType.FOK, order_id="0xf")).status
        == "delayed"
    )
    eng.cancel("0xm")
    sim.clock.advance(3_000)
    events = eng.run_due()
    killed = events[0]
    assert isinstance(killed, OrderEvent)
    assert killed.kind is OrderEventKind.CANCELLATION
    assert (
        killed.order.status
        == "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    assert eng.account("alice").cash_reserved == 0


def test_delayed_crossing_gtc_rests_its_remainder_and_can_be_cancelled_while_waiting() -> None:
    sim = _delayed_sim()
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.60", "5"))
    assert eng.submit(sim.order("alice", sim.yes, BUY, "0.61", "12", order_id="0xg")).status == "delayed"
    assert eng.submit(sim.order("alice", sim.yes, BUY, "0.62", "6", order_id="0xc")).status == "delayed"
    assert [o.order_id for o in eng.open_orders(owner="alice")] == ["0xg", "0xc"]
    cancelled = eng.cancel("0xc")
    assert cancelled.canceled == ("0xc",)
    sim.clock.advance(5_000)
    eng.run_due()
    view = eng.order("0xg")
    assert view is not None
    assert (view.status, view.size_matched) == (OrderStatus.LIVE, 5 * M)
    assert eng.book(sim.yes).best_bid == Decimal("0.61")
    assert eng.account("alice").cash_reserved == 7 * 61 * M // 100
