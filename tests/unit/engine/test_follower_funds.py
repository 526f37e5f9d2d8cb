"""Follower funds: holds for copies in flight, fills booked locally, unknown results forgotten."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderRequest
from polyhunter.domain.signal import Side
from polyhunter.engine.balances import FollowerFunds

EOA = CustodyMode.EOA
TOKEN = "123"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Venue:
    """An executor's balance side: counts reads."""

    remote_funds = True  # read from "the venue": cached

    def __init__(self) -> None:
        self.cash = Funds(Decimal(100), Decimal(60), Decimal(100))
        self.tokens = Funds(Decimal(40), Decimal(10**9), Decimal(10**9))
        self.reads = 0

    async def collateral(self, user_id: int) -> Funds:
        self.reads += 1
        return self.cash

    async def shares(self, user_id: int, token_id: str) -> Funds:
        self.reads += 1
        return self.tokens

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        raise NotImplementedError

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        raise NotImplementedError


def _funds(venue: Venue, clock: Clock) -> FollowerFunds:
    return FollowerFunds({EOA: venue}, ttl_ms=1_000, clock=clock)


async def test_holds_count_against_balance_and_the_right_allowance() -> None:
    venue, clock = Venue(), Clock()
    funds = _funds(venue, clock)
    first, why = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(50), neg_risk=False)
    assert first is not None
    assert why is None
    # 50 held of a 60 CTF-exchange allowance: 20 more does not fit there, but fits the neg-risk exchange
    assert await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(20), neg_risk=False) == (
        None,
        "INSUFFICIENT_ALLOWANCE",
    )
    second, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(40), neg_risk=True)
    assert second is not None
    assert await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(20), neg_risk=True) == (
        None,
        "INSUFFICIENT_BALANCE",
    )
    funds.settle(first, None)  # nothing was sent: the hold goes back, nothing else changes
    third, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(20), neg_risk=True)
    assert third is not None
    assert venue.reads == 1


async def test_fills_are_booked_locally_without_renewing_the_entry() -> None:
    venue, clock = Venue(), Clock()
    funds = _funds(venue, clock)
    await funds.get(EOA, 1)
    await funds.get(EOA, 1, TOKEN)
    buy, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(10), neg_risk=False)
    assert buy is not None
    clock.now = 0.6
    funds.settle(buy, ExecutionResult(ExecStatus.FILLED, Decimal(20), Decimal("0.5"), Decimal("0.1")))
    assert await funds.get(EOA, 1) == Funds(Decimal("89.9"), Decimal("49.9"), Decimal("89.9"))
    assert (await funds.get(EOA, 1, TOKEN)).balance == 60
    sell, _ = await funds.hold(EOA, 1, Side.SELL, TOKEN, Decimal(30), neg_risk=False)
    assert sell is not None
    funds.settle(sell, ExecutionResult(ExecStatus.PARTIAL, Decimal(25), Decimal("0.4")))
    assert (await funds.get(EOA, 1, TOKEN)).balance == 35
    assert await funds.get(EOA, 1) == Funds(
        Decimal("99.9"), Decimal("49.9"), Decimal("89.9")
    )  # allowance stays
    assert venue.reads == 2
    clock.now = 1.1  # the entries expire when the first read would have: the venue is asked again
    assert await funds.get(EOA, 1) == venue.cash
    assert venue.reads == 3


async def test_unknown_or_refused_results_forget_the_numbers_but_kills_do_not() -> None:
    venue, clock = Venue(), Clock()
    funds = _funds(venue, clock)
    hold, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(10), neg_risk=False)
    assert hold is not None
    killed = "order couldn't be fully filled. FOK orders are fully filled or killed."
    funds.settle(hold, ExecutionResult(ExecStatus.KILLED, error=killed))
    await funds.get(EOA, 1)
    assert venue.reads == 1
    for result in (
        ExecutionResult(ExecStatus.UNKNOWN),
        ExecutionResult(ExecStatus.REJECTED, error="not enough balance / allowance"),
    ):
        hold, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(10), neg_risk=False)
        assert hold is not None
        reads = venue.reads
        funds.settle(hold, result)
        await funds.get(EOA, 1)
        assert venue.reads == reads + 1


async def test_an_entry_read_while_the_order_was_out_is_not_booked_twice() -> None:
    venue, clock = Venue(), Clock()
    funds = _funds(venue, clock)
    hold, _ = await funds.hold(EOA, 1, Side.BUY, TOKEN, Decimal(10), neg_risk=False)
    assert hold is not None
    clock.now = 0.1
    venue.tokens = Funds(Decimal(60), Decimal(10**9), Decimal(10**9))  # the venue already shows the fill
    assert (await funds.get(EOA, 1, TOKEN)).balance == 60
    funds.settle(hold, ExecutionResult(ExecStatus.FILLED, Decimal(20), Decimal("0.5")))
    assert (await funds.get(EOA, 1, TOKEN)).balance == 60  # read again, not 80
    assert (await funds.get(EOA, 1)).balance == 90  # the cash read before the order: booked locally


async def test_funds_kept_in_process_are_read_directly_and_never_cached() -> None:
    venue = Venue()
    venue.remote_funds = False  # as the paper executor: its own accounts
    funds = _funds(venue, Clock())
    assert (await funds.get(EOA, 1)).balance == Decimal(100)
    venue.cash = Funds(Decimal(7))
    assert (await funds.get(EOA, 1)).balance == Decimal(7)  # no stale copy
    assert venue.reads == 2
    assert len(funds.cache) == 0
