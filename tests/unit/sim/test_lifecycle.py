"""Cancel, GTD expiry, resolution with payout, positions and determinism."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyhunter.domain.signal import Side
from polyhunter.sim.errors import SimError
from polyhunter.sim.events import BookChange, MarketResolved, OrderEvent, OrderEventKind
from polyhunter.sim.markets import condition_id_for, make_market, token_id_for
from polyhunter.sim.orders import OrderStatus, OrderType
from tests.support.sim_exchange import M, Sim, new_sim

BUY, SELL = Side.BUY, Side.SELL


def test_cancel_releases_reservation_and_reports(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("alice", sim.yes, BUY, "0.40", "10", order_id="0x1"))
    eng.submit(sim.order("alice", sim.no, SELL, "0.70", "10", order_id="0x2"))
    assert eng.account("alice").cash_reserved == 4 * M
    assert eng.account("alice").tokens_reserved[sim.no] == 10 * M
    res = eng.cancel_orders(["0x1", "0x9"], owner="ALICE")
    assert res.canceled == ("0x1",)
    assert res.not_canceled == {"0x9": "order not found"}
    assert eng.account("alice").cash_reserved == 0
    cancel_event = res.events[0]
    assert isinstance(cancel_event, OrderEvent)
    assert (cancel_event.kind, cancel_event.order.status) == (
        OrderEventKind.CANCELLATION,
        OrderStatus.CANCELED,
    )
    assert [e.size for e in res.events if isinstance(e, BookChange)] == [0, 0]
    assert eng.cancel("0x1").not_canceled == {"0x1": "already canceled or matched"}
    assert eng.cancel("0x2", owner="bob").not_canceled == {"0x2": "order not found"}
    assert eng.cancel_all("alice").canceled == ("0x2",)
    assert eng.account("alice").tokens_reserved[sim.no] == 0
    assert eng.open_orders() == []


def test_cancel_market_filters_by_asset(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("alice", sim.yes, BUY, "0.40", "10", order_id="0x1"))
    eng.submit(sim.order("alice", sim.no, BUY, "0.40", "10", order_id="0x2"))
    assert eng.cancel_market("alice", asset_id=sim.no).canceled == ("0x2",)
    assert [o.order_id for o in eng.open_orders(owner="alice")] == ["0x1"]


def test_gtd_expires_when_clock_passes(sim: Sim) -> None:
    eng = sim.engine
    exp = sim.clock.now_ms // 1000 + 60
    eng.submit(sim.order("alice", sim.yes, BUY, "0.40", "10", OrderType.GTD, order_id="0xg", expiration=exp))
    sim.clock.advance(59_999)
    assert eng.expire() == []
    sim.clock.advance(1)
    events = eng.expire()
    first = events[0]
    assert isinstance(first, OrderEvent)
    assert first.order.status is OrderStatus.CANCELED_EXPIRED_ORDER
    assert eng.account("alice").cash_reserved == 0
    assert eng.book(sim.yes).bids == ()


def test_expired_order_is_not_matched_by_next_submit(sim: Sim) -> None:
    eng = sim.engine
    exp = sim.clock.now_ms // 1000 + 10
    eng.submit(sim.order("alice", sim.yes, BUY, "0.40", "10", OrderType.GTD, expiration=exp))
    sim.clock.advance(10_000)
    res = eng.submit(sim.order("bob", sim.yes, SELL, "0.40", "10", OrderType.FAK))
    assert not res.success
    assert res.events  # the expiry happened inside this call and is reported


def test_resolve_pays_winners_and_cancels_orders(sim: Sim) -> None:
    eng = sim.engine
    cid = sim.market.condition_id
    eng.submit(sim.order("bob", sim.yes, SELL, "0.60", "10"))
    eng.submit(sim.order("alice", sim.yes, BUY, "0.60", "10", OrderType.FOK))
    eng.submit(sim.order("carol", sim.yes, BUY, "0.30", "10", order_id="0xrest"))
    cash = {w: eng.account(w).cash for w in ("alice", "bob", "carol", "dave")}
    events = eng.resolve(cid, sim.yes)
    cancels = [e for e in events if isinstance(e, OrderEvent)]
    assert [(c.order.order_id, c.order.status) for c in cancels] == [
        ("0xrest", OrderStatus.CANCELED_MARKET_RESOLVED)
    ]
    resolved = events[-1]
    assert isinstance(resolved, MarketResolved)
    assert resolved.winning_outcome == "Yes"
    assert dict(resolved.payouts) == {"alice": 110 * M, "bob": 90 * M, "carol": 100 * M, "dave": 100 * M}
    for who, paid in dict(resolved.payouts).items():
        assert eng.account(who).cash == cash[who] + paid
        assert eng.account(who).tokens.get(sim.no, 0) == 0
    assert eng.account("carol").cash_reserved == 0
    assert eng.ledger.locked[cid] == 0
    assert eng.ledger.collateral_total() == eng.ledger.deposited
    # alice bought 10 YES at 0.60 on top of 100 split at 0.50 basis: realized = 110 - (50 + 6)
    assert eng.account("alice").positions[sim.yes].realized == 54 * M
    assert eng.account("alice").positions[sim.no].realized == -50 * M
    assert not eng.market(cid).accepting_orders
    with pytest.raises(SimError):
        eng.resolve(cid, sim.no)


def test_position_average_cost_and_realized_pnl() -> None:
    sim = new_sim()
    eng = sim.engine
    eng.deposit("erin", 100 * M)
    for price in ("0.40", "0.60"):
        eng.submit(sim.order("bob", sim.yes, SELL, price, "10"))
        eng.submit(sim.order("erin", sim.yes, BUY, price, "10", OrderType.FOK))
    pos = eng.account("erin").positions[sim.yes]
    assert (pos.size, pos.cost, pos.avg_price) == (20 * M, 10 * M, Decimal("0.5"))
    eng.submit(sim.order("carol", sim.yes, BUY, "0.70", "5"))
    eng.submit(sim.order("erin", sim.yes, SELL, "0.70", "5", OrderType.FOK))
    assert (pos.size, pos.cost, pos.realized) == (15 * M, 7_500_000, 1 * M)


def test_ids_are_deterministic_per_seed() -> None:
    assert condition_id_for("s", 1) == make_market("s", 1).condition_id
    assert len(condition_id_for("s", 1)) == 66
    assert condition_id_for("s", 1) != condition_id_for("t", 1)
    token = token_id_for("s", 1, 0)
    assert token.isdigit()
    assert int(token) < 2**256

    def run() -> list[tuple[str, ...]]:
        sim = new_sim()
        sim.engine.submit(sim.order("bob", sim.yes, SELL, "0.6", "10"))
        res = sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.6", "10", OrderType.FOK))
        return [res.trade_ids, res.transaction_hashes]

    assert run() == run()


def test_market_validation() -> None:
    with pytest.raises(SimError):
        make_market("s", 0, tick_size=Decimal("0.02"))
    sim = new_sim()
    with pytest.raises(SimError):
        sim.engine.add_market(sim.market)
    events = sim.engine.set_tick_size(sim.market.condition_id, Decimal("0.001"))
    assert len(events) == 2
    assert sim.engine.submit(sim.order("alice", sim.yes, BUY, "0.401", "10")).success
