"""A SimExchange on a fake clock with one market and four funded accounts, and an order builder."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.markets import Market, make_market
from polyhunter.sim.orders import OrderRequest, OrderType

START_MS = 1_790_000_000_000
M = 1_000_000  # one share / one pUSD in micro-units


class FakeClock:
    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@dataclass
class Sim:
    engine: SimExchange
    clock: FakeClock
    market: Market
    n: int = 0

    @property
    def yes(self) -> str:
        return self.market.tokens[0]

    @property
    def no(self) -> str:
        return self.market.tokens[1]

    def order(
        self,
        owner: str,
        token: str,
        side: Side,
        price: str,
        shares: str,
        order_type: OrderType = OrderType.GTC,
        **kw: object,
    ) -> OrderRequest:
        self.n += 1
        return OrderRequest(
            order_id=str(kw.pop("order_id", f"0x{self.n:064x}")),
            owner=owner,
            token_id=token,
            side=side,
            price=Decimal(price),
            size=int(Decimal(shares) * M),
            order_type=order_type,
            **kw,  # type: ignore[arg-type]
        )


def new_sim(tick: str = "0.01", fee_rate: str = "0", min_size: str = "5") -> Sim:
    clock = FakeClock()
    engine = SimExchange(clock, seed="test")
    market = engine.add_market(
        make_market(
            "test",
            0,
            tick_size=Decimal(tick),
            taker_fee_rate=Decimal(fee_rate),
            min_order_size=Decimal(min_size),
        )
    )
    for who in ("alice", "bob", "carol", "dave"):
        engine.deposit(who, 1_000 * M)
        engine.split(who, market.condition_id, 100 * M)
    return Sim(engine, clock, market)
