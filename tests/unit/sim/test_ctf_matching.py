"""NORMAL / MINT / MERGE matches, price-time priority across both tokens, trade events and chain legs."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.events import BookChange, OrderEvent, OrderEventKind, TradeEvent
from polyhunter.sim.orders import MatchType, OrderStatus, OrderType
from tests.support.sim_exchange import M, Sim, new_sim

BUY, SELL = Side.BUY, Side.SELL
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"


def _trade(events: tuple[object, ...]) -> TradeEvent:
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert len(trades) == 1
    return trades[0]


def test_mint_two_buyers_create_a_full_set(sim: Sim) -> None:
    eng = sim.engine
    cid = sim.market.condition_id
    locked0 = eng.ledger.locked[cid]
    alice0, bob0 = eng.account("alice").cash, eng.account("bob").cash
    maker = eng.submit(sim.order("bob", sim.no, BUY, "0.40", "10", order_id="0xm"))
    assert maker.status == "live"
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.65", "10", OrderType.FOK, order_id="0xt"))
    trade = _trade(res.events)
    assert trade.makers[0].match_type is MatchType.MINT
    # taker pays 1 - 0.40 = 0.60 (price improvement from 0.65), maker pays its 0.40
    assert (res.making_amount, res.taking_amount) == ("6", "10")
    assert trade.usdc == 6 * M
    assert trade.makers[0].usdc == 4 * M
    assert trade.price == Decimal("0.65")  # taker's limit, like the live trade row
    assert trade.last_price == Decimal("0.6")
    assert eng.account("alice").cash == alice0 - 6 * M
    assert eng.account("bob").cash == bob0 - 4 * M
    assert eng.account("alice").tokens[sim.yes] == 110 * M
    assert eng.account("bob").tokens[sim.no] == 110 * M
    assert eng.ledger.locked[cid] == locked0 + 10 * M
    assert eng.ledger.supply[sim.yes] == eng.ledger.supply[sim.no] == eng.ledger.locked[cid]


def test_merge_two_sellers_redeem_a_full_set(sim: Sim) -> None:
    eng = sim.engine
    cid = sim.market.condition_id
    locked0 = eng.ledger.locked[cid]
    eng.submit(sim.order("bob", sim.no, SELL, "0.30", "10"))
    alice0, bob0 = eng.account("alice").cash, eng.account("bob").cash
    res = eng.submit(sim.order("alice", sim.yes, SELL, "0.60", "10", OrderType.FAK))
    trade = _trade(res.events)
    assert trade.makers[0].match_type is MatchType.MERGE
    # taker receives 1 - 0.30 = 0.70 (better than its 0.60), maker receives 0.30
    assert (res.making_amount, res.taking_amount) == ("10", "7")
    assert eng.account("alice").cash == alice0 + 7 * M
    assert eng.account("bob").cash == bob0 + 3 * M
    assert eng.account("alice").tokens[sim.yes] == 90 * M
    assert eng.account("bob").tokens[sim.no] == 90 * M
    assert eng.ledger.locked[cid] == locked0 - 10 * M
    assert eng.ledger.supply[sim.yes] == eng.ledger.supply[sim.no] == eng.ledger.locked[cid]


def test_best_effective_price_first_then_time_across_tokens(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.56", "5", order_id="0xa1"))  # worse
    eng.submit(sim.order("carol", sim.no, BUY, "0.45", "5", order_id="0xa2"))  # YES at 0.55, earlier
    eng.submit(sim.order("dave", sim.yes, SELL, "0.55", "5", order_id="0xa3"))  # YES at 0.55, later
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.56", "12", OrderType.FAK))
    trade = _trade(res.events)
    assert [(m.order_id, m.size, m.match_type) for m in trade.makers] == [
        ("0xa2", 5 * M, MatchType.MINT),
        ("0xa3", 5 * M, MatchType.NORMAL),
        ("0xa1", 2 * M, MatchType.NORMAL),
    ]
    assert trade.usdc == 5 * 55 * M // 100 * 2 + 2 * 56 * M // 100
    remaining = eng.order("0xa1")
    assert remaining is not None
    assert (remaining.status, remaining.size_matched) == (OrderStatus.LIVE, 2 * M)


def test_sell_taker_meets_bids_and_no_sellers(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, BUY, "0.50", "5", order_id="0xb1"))
    eng.submit(sim.order("carol", sim.no, SELL, "0.48", "5", order_id="0xb2"))  # bids YES at 0.52
    res = eng.submit(sim.order("alice", sim.yes, SELL, "0.50", "10", OrderType.FOK))
    trade = _trade(res.events)
    assert [(m.order_id, m.match_type) for m in trade.makers] == [
        ("0xb2", MatchType.MERGE),
        ("0xb1", MatchType.NORMAL),
    ]
    assert res.taking_amount == "5.1"  # 5 * 0.52 + 5 * 0.50


def test_order_filled_legs_follow_the_chain_layout(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.53", "5", order_id="0xc1"))
    eng.submit(sim.order("carol", sim.no, BUY, "0.46", "5", order_id="0xc2"))
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.54", "10", OrderType.FOK, order_id="0xc3"))
    legs = _trade(res.events).order_filled_legs(EXCHANGE)
    assert [(leg.order_id, leg.maker, leg.taker, leg.side, leg.token_id) for leg in legs] == [
        ("0xc1", "bob", "alice", SELL, sim.yes),
        ("0xc2", "carol", "alice", BUY, sim.no),
        ("0xc3", "alice", EXCHANGE, BUY, sim.yes),
    ]
    assert [(leg.maker_amount_filled, leg.taker_amount_filled) for leg in legs] == [
        (5 * M, 2_650_000),
        (2_300_000, 5 * M),
        (2_650_000 + 2_700_000, 10 * M),
    ]


def test_events_of_a_match(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.60", "10", order_id="0xd1"))
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.60", "4", OrderType.FAK, order_id="0xd2"))
    kinds = [type(e).__name__ for e in res.events]
    assert kinds == ["OrderEvent", "TradeEvent", "OrderEvent", "BookChange", "BookChange"]
    placement, update = res.events[0], res.events[2]
    assert isinstance(placement, OrderEvent)
    assert isinstance(update, OrderEvent)
    assert (placement.kind, placement.order.status) == (OrderEventKind.PLACEMENT, OrderStatus.MATCHED)
    assert (update.kind, update.order.order_id, update.order.size_matched) == (
        OrderEventKind.UPDATE,
        "0xd1",
        4 * M,
    )
    yes_change, no_change = res.events[3], res.events[4]
    assert isinstance(yes_change, BookChange)
    assert isinstance(no_change, BookChange)
    assert (yes_change.token_id, yes_change.side, yes_change.price, yes_change.size) == (
        sim.yes,
        SELL,
        Decimal("0.6"),
        6 * M,
    )
    assert (no_change.token_id, no_change.side, no_change.price, no_change.size) == (
        sim.no,
        BUY,
        Decimal("0.4"),
        6 * M,
    )
    assert (yes_change.best_bid, yes_change.best_ask) == (None, Decimal("0.6"))
    assert (no_change.best_bid, no_change.best_ask) == (Decimal("0.4"), None)
    trade = _trade(res.events)
    assert res.trade_ids == (trade.trade_id,)
    assert res.transaction_hashes == (trade.transaction_hash,)
    assert trade.transaction_hash.startswith("0x")
    assert len(trade.transaction_hash) == 66
    assert trade.timestamp_ms == sim.clock.now_ms


def test_snapshots_are_worst_first_and_mirrored(sim: Sim) -> None:
    eng = sim.engine
    for who, token, side, price in [
        ("alice", sim.yes, BUY, "0.40"),
        ("alice", sim.yes, BUY, "0.42"),
        ("bob", sim.no, SELL, "0.55"),
        ("carol", sim.yes, SELL, "0.60"),
        ("carol", sim.yes, SELL, "0.58"),
        ("dave", sim.no, BUY, "0.35"),
    ]:
        assert eng.submit(sim.order(who, token, side, price, "10")).status == "live"
    yes = eng.book(sim.yes)
    assert [str(lv.price) for lv in yes.bids] == ["0.4", "0.42", "0.45"]
    assert [str(lv.price) for lv in yes.asks] == ["0.65", "0.6", "0.58"]
    assert (yes.best_bid, yes.best_ask, yes.midpoint, yes.spread) == (
        Decimal("0.45"),
        Decimal("0.58"),
        Decimal("0.515"),
        Decimal("0.13"),
    )
    no = eng.book(sim.no)
    assert [str(lv.price) for lv in no.bids] == ["0.35", "0.4", "0.42"]
    assert [str(lv.price) for lv in no.asks] == ["0.6", "0.58", "0.55"]
    assert eng.best_bid_ask(sim.no) == (Decimal("0.42"), Decimal("0.55"))
    assert no.last_trade_price is None


def test_last_trade_price_on_both_tokens(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.70", "10"))
    eng.submit(sim.order("alice", sim.yes, BUY, "0.70", "5", OrderType.FAK))
    assert eng.last_trade(sim.yes) == (Decimal("0.70"), BUY)
    assert eng.last_trade(sim.no) == (Decimal("0.30"), SELL)


def test_taker_fee_is_charged_rounded_and_reported() -> None:
    sim = new_sim(fee_rate="0.072")
    eng = sim.engine
    fees0 = eng.ledger.fees_collected()
    eng.submit(sim.order("bob", sim.yes, SELL, "0.53", "12.34"))
    alice0 = eng.account("alice").cash
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.53", "12.34", OrderType.FOK))
    trade = _trade(res.events)
    # 12.34 * 0.072 * 0.53 * 0.47 = 0.22132... -> 0.22132 (5 decimals)
    assert trade.fee == 221_320
    assert eng.account("alice").cash == alice0 - 6_540_200 - 221_320
    assert eng.account("alice").cash_reserved == 0
    assert eng.ledger.fees_collected() == fees0 + 221_320
    assert eng.account("alice").positions[sim.yes].fees == 221_320


def test_sell_taker_fee_comes_out_of_proceeds() -> None:
    sim = new_sim(fee_rate="0.04")
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, BUY, "0.25", "100"))
    alice0 = eng.account("alice").cash
    res = eng.submit(sim.order("alice", sim.yes, SELL, "0.25", "100", OrderType.FOK))
    trade = _trade(res.events)
    assert trade.fee == 750_000  # 100 * 0.04 * 0.25 * 0.75
    assert eng.account("alice").cash == alice0 + 25 * M - 750_000


def test_resting_part_of_a_crossing_gtc(sim: Sim) -> None:
    eng = sim.engine
    eng.submit(sim.order("bob", sim.yes, SELL, "0.50", "5"))
    res = eng.submit(sim.order("alice", sim.yes, BUY, "0.52", "15", order_id="0xe1"))
    assert (res.status, res.making_amount, res.taking_amount) == ("matched", "2.5", "5")
    view = eng.order("0xe1")
    assert view is not None
    assert (view.status, view.size_matched) == (OrderStatus.LIVE, 5 * M)
    assert eng.account("alice").cash_reserved == 10 * 52 * M // 100
    assert eng.book(sim.yes).best_bid == Decimal("0.52")
