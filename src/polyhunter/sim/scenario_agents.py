"""Simulated participants: market makers that keep depth and takers (leaders) that hit them.

Both submit through ``SimState.submit`` like any client, so their fills are real matches in the
engine: they move the book, show in ``/trades``, ``/activity``, RTDS and the market channel.
Addresses, order ids and every random draw are pure functions of the seed.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_DOWN, Decimal
from itertools import count

from polyhunter.domain.signal import Side
from polyhunter.sim.events import SubmitResult
from polyhunter.sim.markets import Market
from polyhunter.sim.orders import OrderRequest, OrderStatus, OrderType, OrderView
from polyhunter.sim.state import SimState
from polyhunter.sim.units import MICRO

__all__ = ["MarketMaker", "Participants", "address_for"]


def address_for(seed: int, role: str, index: int) -> str:
    """A lower-case 0x address derived from (seed, role, index)."""
    return "0x" + hashlib.sha256(f"polyhunter-sim|{seed}|{role}|{index}".encode()).hexdigest()[:40]


def snap(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` rounded down to ``tick`` and kept inside [tick, 1 - tick]."""
    snapped = (price / tick).to_integral_value(ROUND_DOWN) * tick
    return min(max(snapped, tick), 1 - tick)


class Participants:
    """Submits orders for simulated wallets with deterministic order ids."""

    def __init__(self, state: SimState, seed: int) -> None:
        self.state = state
        self.seed = seed
        self._ids = count(1)

    def order_id(self) -> str:
        return (
            "0x" + hashlib.sha256(f"polyhunter-sim|{self.seed}|order|{next(self._ids)}".encode()).hexdigest()
        )

    def submit(
        self, owner: str, token_id: str, side: Side, price: Decimal, size: int, order_type: OrderType
    ) -> SubmitResult:
        req = OrderRequest(
            order_id=self.order_id(),
            owner=owner,
            token_id=token_id,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            api_owner=self.state.internal_api_key(owner),
        )
        return self.state.submit(req)

    def ensure_cash(self, owner: str, amount: int) -> None:
        acct = self.state.engine.account(owner)
        if acct.cash_available < amount:
            self.state.fund_collateral(owner, amount - acct.cash_available + 1_000 * MICRO)

    def ensure_shares(self, owner: str, token_id: str, shares: int) -> None:
        have = self.state.engine.account(owner).tokens_available(token_id)
        if have < shares:
            self.state.fund_shares(owner, token_id, shares - have)


class MarketMaker:
    """One wallet quoting a ladder of ``levels`` prices each side of a fair price on a market's
    primary token (the other token's book is its mirror), topping levels back up to ``level_size``."""

    def __init__(
        self,
        agents: Participants,
        market: Market,
        address: str,
        fair: Decimal,
        *,
        levels: int = 5,
        level_size: Decimal = Decimal(500),
    ) -> None:
        self.agents = agents
        self.market = market
        self.address = address
        self.fair = snap(fair, market.tick_size)
        self.levels = levels
        self.level_size = int(level_size * MICRO)
        self._order_ids: list[str] = []

    def _ladder(self) -> list[tuple[Side, Decimal]]:
        tick = self.market.tick_size
        out: list[tuple[Side, Decimal]] = []
        for k in range(1, self.levels + 1):
            bid, ask = self.fair - k * tick, self.fair + k * tick
            if bid >= tick:
                out.append((Side.BUY, bid))
            if ask <= 1 - tick:
                out.append((Side.SELL, ask))
        return out

    def _live(self) -> list[OrderView]:
        """This maker's resting orders (tracked by id: no scan over every order the engine holds)."""
        views = [v for oid in self._order_ids if (v := self.agents.state.engine.order(oid)) is not None]
        live = [v for v in views if v.status is OrderStatus.LIVE]
        self._order_ids = [v.order_id for v in live]
        return live

    def _resting(self) -> dict[tuple[Side, Decimal], int]:
        token = self.market.tokens[0]
        resting: dict[tuple[Side, Decimal], int] = {}
        for o in self._live():
            if o.token_id == token:
                key = (o.side, o.price)
                resting[key] = resting.get(key, 0) + o.original_size - o.size_matched
        return resting

    def post(self, token: str, side: Side, price: Decimal, size: int) -> SubmitResult:
        """Rest one GTC order for this maker (funding it first) and track it."""
        if side is Side.BUY:
            self.agents.ensure_cash(self.address, size * int(price * MICRO) // MICRO + MICRO)
        else:
            self.agents.ensure_shares(self.address, token, size)
        result = self.agents.submit(self.address, token, side, price, size, OrderType.GTC)
        if result.success:  # a filled order is pruned by the next _live()
            self._order_ids.append(result.order_id)
        return result

    def refresh(self) -> int:
        """Top every ladder level back up; returns the number of orders posted."""
        if not self.agents.state.engine.market(self.market.condition_id).accepting_orders:
            return 0
        token = self.market.tokens[0]
        resting = self._resting()
        posted = 0
        minimum = int(self.market.min_order_size * MICRO)
        for side, price in self._ladder():
            missing = self.level_size - resting.get((side, price), 0)
            if missing < max(minimum, 1):
                continue
            posted += int(self.post(token, side, price, missing).success)
        return posted

    def recenter(self, fair: Decimal) -> None:
        """Move the ladder to a new fair price: cancel levels that no longer belong, then refresh."""
        self.fair = snap(fair, self.market.tick_size)
        wanted = set(self._ladder())
        stale = [
            o.order_id
            for o in self._live()
            if o.token_id != self.market.tokens[0] or (o.side, o.price) not in wanted
        ]
        if stale:
            self.agents.state.cancel_orders(stale, None)
        self.refresh()

    def clear(self) -> None:
        """Cancel every resting order of this maker."""
        ids = [o.order_id for o in self._live()]
        if ids:
            self.agents.state.cancel_orders(ids, None)
        self._order_ids = []
