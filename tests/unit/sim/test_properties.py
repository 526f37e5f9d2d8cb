"""Property tests: random order flow on both tokens of a market keeps the engine's invariants.

Checked after every step, from the raw open orders and account balances (not from the engine's own
mirrored book, so the checks are independent of the one-book design):
* no crossed book: on each token best bid < best ask, and across the complement no MINT is left
  (best YES bid + best NO bid < 1) and no MERGE is left (best YES ask + best NO ask > 1);
* pUSD conserved: all cash (fee account included) + collateral locked in full sets == deposits;
* shares conserved: YES held == NO held == full sets locked;
* reservations equal what the open orders need; nothing negative;
* FOK all-or-nothing; fills follow price-time priority at the maker's price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyhunter.domain.signal import Side
from polyhunter.sim import errors
from polyhunter.sim.events import TradeEvent
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.markets import TICK_SIZES, make_market
from polyhunter.sim.matching import fee_bound
from polyhunter.sim.orders import OrderRequest, OrderStatus, OrderType, OrderView
from polyhunter.sim.units import cost, price_to_micro
from tests.support.sim_exchange import FakeClock, M

WALLETS = ("w0", "w1", "w2", "w3")
ONE = Decimal(1)


@dataclass
class Action:
    kind: str  # "order" | "cancel" | "advance"
    wallet: int = 0
    outcome: int = 0
    side: Side = Side.BUY
    ticks: int = 1
    lots: int = 500
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    ttl_s: int = 0
    pick: int = 0


@st.composite
def actions(draw: st.DrawFn, n_ticks: int) -> Action:
    kind = draw(st.sampled_from(["order"] * 8 + ["cancel", "advance"]))
    order_type = draw(st.sampled_from(list(OrderType)))
    return Action(
        kind=kind,
        wallet=draw(st.integers(0, len(WALLETS) - 1)),
        outcome=draw(st.integers(0, 1)),
        side=draw(st.sampled_from([Side.BUY, Side.SELL])),
        ticks=draw(st.integers(1, n_ticks - 1)),
        lots=draw(st.one_of(st.integers(1, 3000), st.integers(500, 1500))),
        order_type=order_type,
        post_only=order_type.can_rest and draw(st.booleans()),
        ttl_s=draw(st.integers(1, 120)),
        pick=draw(st.integers(0, 1000)),
    )


@dataclass
class World:
    engine: SimExchange
    clock: FakeClock
    tokens: tuple[str, str]
    cid: str
    deposited: int
    seq: dict[str, int] = field(default_factory=dict)


def _setup(tick: Decimal, fee_rate: Decimal, delay_ms: int = 0) -> World:
    clock = FakeClock()
    engine = SimExchange(clock, seed="prop")
    market = engine.add_market(
        make_market("prop", 0, tick_size=tick, taker_fee_rate=fee_rate, match_delay_ms=delay_ms)
    )
    for i, w in enumerate(WALLETS):
        engine.deposit(w, (200 + 100 * i) * M)
        engine.split(w, market.condition_id, (50 + 25 * i) * M)
    deposited = sum((200 + 100 * i) * M for i in range(len(WALLETS)))
    return World(engine, clock, market.tokens, market.condition_id, deposited)


def _effective(o: OrderView, token: str, taker_side: Side) -> Decimal | None:
    """Price of resting order ``o`` in the taker's token if it can match a ``taker_side`` taker."""
    if o.token_id == token:
        return o.price if o.side is not taker_side else None
    return ONE - o.price if o.side is taker_side else None


def _candidates(world: World, token: str, side: Side, limit: Decimal) -> list[tuple[Decimal, int, str]]:
    out = []
    for o in world.engine.open_orders(market=world.cid):
        if o.status is OrderStatus.DELAYED:
            continue
        eff = _effective(o, token, side)
        if eff is None or (eff > limit if side is Side.BUY else eff < limit):
            continue
        out.append((eff if side is Side.BUY else -eff, world.seq[o.order_id], o.order_id))
    return sorted(out)


def _check_priority(
    world: World, req: OrderRequest, before: list[tuple[Decimal, int, str]], trade: TradeEvent
) -> None:
    filled = [m.order_id for m in trade.makers]
    assert filled == [c[2] for c in before[: len(filled)]], "fills out of price-time order"
    views = {o.order_id: o for o in world.engine.open_orders()}
    for m in trade.makers[:-1]:
        assert m.order_id not in views, "a maker was skipped before being fully filled"
    for m in trade.makers:
        assert m.usdc == cost(m.size, price_to_micro(m.price)), "fill not at the maker's price"
        assert m.size % 10_000 == 0


def _submit(world: World, a: Action, n: int) -> None:
    eng = world.engine
    token = world.tokens[a.outcome]
    tick = eng.market(world.cid).tick_size
    price = tick * a.ticks
    exp = world.clock.now_ms // 1000 + a.ttl_s if a.order_type is OrderType.GTD else 0
    req = OrderRequest(
        order_id=f"o{n}",
        owner=WALLETS[a.wallet],
        token_id=token,
        side=a.side,
        price=price,
        size=a.lots * 10_000,
        order_type=a.order_type,
        expiration=exp,
        post_only=a.post_only,
    )
    before = _candidates(world, token, a.side, price)
    fillable = sum(
        o.original_size - o.size_matched
        for o in eng.open_orders(market=world.cid)
        if any(c[2] == o.order_id for c in before)
    )
    res = eng.submit(req)
    trades = [e for e in res.events if isinstance(e, TradeEvent)]
    if a.order_type is OrderType.FOK and res.status != "delayed":
        if res.success:
            assert len(trades) == 1
            assert trades[0].size == req.size, "FOK partially filled"
        elif res.error == errors.FOK_NOT_FILLED:
            assert fillable < req.size, "FOK killed although the book could fill it"
    if not res.success:
        assert not trades
        return
    world.seq[req.order_id] = n
    if res.status == "delayed":
        assert not trades
        return
    if trades:
        _check_priority(world, req, before, trades[0])
        assert res.status == "matched"
        assert trades[0].size <= req.size
    else:
        assert res.status == "live"
        assert not before or a.order_type is OrderType.FAK  # a crossing order must match


def _check_invariants(world: World) -> None:
    eng = world.engine
    ledger = eng.ledger
    yes, no = world.tokens
    rate = eng.market(world.cid).taker_fee_rate
    opened = [o for o in eng.open_orders(market=world.cid) if o.status is OrderStatus.LIVE]
    best: dict[tuple[str, Side], Decimal] = {}
    need_cash: dict[str, int] = {}
    need_tokens: dict[tuple[str, str], int] = {}
    for o in eng.open_orders(market=world.cid):
        rem = o.original_size - o.original_size % 10_000 - o.size_matched
        assert rem > 0
        if o.status is OrderStatus.LIVE:
            key = (o.token_id, o.side)
            better = max if o.side is Side.BUY else min
            best[key] = better(best.get(key, o.price), o.price)
        else:
            assert o.status is OrderStatus.DELAYED
            assert o.size_matched == 0
        if o.side is Side.BUY:
            extra = fee_bound(rem, price_to_micro(o.price), rate) if o.status is OrderStatus.DELAYED else 0
            need_cash[o.owner] = need_cash.get(o.owner, 0) + cost(rem, price_to_micro(o.price)) + extra
        else:
            need_tokens[(o.owner, o.token_id)] = need_tokens.get((o.owner, o.token_id), 0) + rem
    for token in (yes, no):
        bid, ask = best.get((token, Side.BUY)), best.get((token, Side.SELL))
        assert bid is None or ask is None or bid < ask, "crossed book"
    for a, b in ((yes, no), (no, yes)):
        bid_a, bid_b = best.get((a, Side.BUY)), best.get((b, Side.BUY))
        assert bid_a is None or bid_b is None or bid_a + bid_b < 1, "MINT left in the book"
        ask_a, ask_b = best.get((a, Side.SELL)), best.get((b, Side.SELL))
        assert ask_a is None or ask_b is None or ask_a + ask_b > 1, "MERGE left in the book"
    snap = eng.book(yes)
    eff_bid = [p for p in (best.get((yes, Side.BUY)), _flip(best.get((no, Side.SELL)))) if p is not None]
    assert snap.best_bid == (max(eff_bid) if eff_bid else None)
    assert sum(lv.size for lv in snap.bids) + sum(lv.size for lv in snap.asks) == sum(
        o.original_size - o.original_size % 10_000 - o.size_matched for o in opened
    )
    total_cash = 0
    held = {yes: 0, no: 0}
    for acct in ledger.accounts():
        assert acct.cash >= acct.cash_reserved >= 0
        assert acct.cash_reserved == need_cash.get(acct.address, 0)
        for token in (yes, no):
            assert acct.tokens.get(token, 0) >= acct.tokens_reserved.get(token, 0) >= 0
            assert acct.tokens_reserved.get(token, 0) == need_tokens.get((acct.address, token), 0)
            held[token] += acct.tokens.get(token, 0)
        total_cash += acct.cash
    assert total_cash + ledger.locked[world.cid] == world.deposited, "pUSD not conserved"
    assert held[yes] == held[no] == ledger.locked[world.cid], "shares not conserved"


def _flip(p: Decimal | None) -> Decimal | None:
    return None if p is None else ONE - p


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tick=st.sampled_from(TICK_SIZES),
    fee_rate=st.sampled_from([Decimal(0), Decimal("0.072")]),
    delay_ms=st.sampled_from([0, 0, 3_000]),
    data=st.data(),
)
def test_random_order_flow_keeps_invariants(
    tick: Decimal, fee_rate: Decimal, delay_ms: int, data: st.DataObject
) -> None:
    world = _setup(tick, fee_rate, delay_ms)
    n_ticks = int(1 / tick)
    steps = data.draw(st.lists(actions(n_ticks), min_size=1, max_size=60))
    for n, a in enumerate(steps):
        if a.kind == "advance":
            world.clock.advance(a.ttl_s * 1000)
            for ev in world.engine.run_due():
                if isinstance(ev, TradeEvent):
                    taker = world.engine.order(ev.taker_order_id)
                    assert taker is not None
                    if taker.order_type is OrderType.FOK:
                        assert ev.size == taker.original_size - taker.original_size % 10_000
        elif a.kind == "cancel":
            opened = world.engine.open_orders()
            if opened:
                victim = opened[a.pick % len(opened)]
                res = world.engine.cancel(victim.order_id, owner=victim.owner)
                assert res.canceled == (victim.order_id,)
        else:
            _submit(world, a, n)
        _check_invariants(world)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_resolution_conserves_collateral(data: st.DataObject) -> None:
    world = _setup(Decimal("0.01"), Decimal(0))
    for n, a in enumerate(data.draw(st.lists(actions(100), max_size=40))):
        if a.kind == "order":
            _submit(world, a, n)
    winner = world.tokens[data.draw(st.integers(0, 1))]
    supply = sum(acct.tokens.get(winner, 0) for acct in world.engine.ledger.accounts())
    cash = sum(acct.cash for acct in world.engine.ledger.accounts())
    world.engine.resolve(world.cid, winner)
    after = sum(acct.cash for acct in world.engine.ledger.accounts())
    assert after == cash + supply == world.deposited
    assert world.engine.open_orders() == []
    assert all(acct.cash_reserved == 0 for acct in world.engine.ledger.accounts())
