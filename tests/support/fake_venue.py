"""Fakes of the venue ports (ports/venue.py) for unit tests of the engine: a `FakeMarketData` serving
fixed books, and a `FakeExecutor` answering each order with a scripted result."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from polyhunter.domain.book_math import BookSide, Level
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderBook, OrderRequest


def a_book(
    token_id: str,
    bid: str = "0.49",
    ask: str = "0.50",
    size: str = "1000",
    tick: str = "0.01",
    neg_risk: bool = False,
) -> OrderBook:
    """One level a side, `size` shares each."""
    return OrderBook(
        token_id,
        BookSide((Level(Decimal(bid), Decimal(size)),)),
        BookSide((Level(Decimal(ask), Decimal(size)),)),
        Decimal(tick),
        Decimal(5),
        neg_risk,
        0,
    )


class FakeMarketData:
    def __init__(self, books: dict[str, OrderBook] | None = None) -> None:
        self.books = books or {}
        self.reads = 0
        self.fee_rates: dict[str, Decimal] = {}

    async def book(self, token_id: str) -> OrderBook:
        self.reads += 1
        found = self.books.get(token_id)
        if found is None:
            raise LookupError(f"no book for {token_id}")
        return found

    async def midpoint(self, token_id: str) -> Decimal | None:
        return (await self.book(token_id)).midpoint

    async def last_trade_price(self, token_id: str) -> Decimal | None:
        return (await self.book(token_id)).last_trade_price

    async def fee_rate(self, token_id: str) -> Decimal:
        return self.fee_rates.get(token_id, Decimal(0))


def filled(request: OrderRequest) -> ExecutionResult:
    """A full fill at the order's limit."""
    return ExecutionResult(
        ExecStatus.FILLED, request.shares, request.limit_price, Decimal(0), f"0x{request.copy_trade_id:064x}"
    )


class FakeExecutor:
    """Fills every order (or answers with `respond`); `reconciled` is what a reconcile returns."""

    remote_funds = False

    def __init__(
        self,
        respond: Callable[[OrderRequest], ExecutionResult] = filled,
        cash: Decimal = Decimal(1000),
    ) -> None:
        self.respond = respond
        self.cash = cash
        self.sent: list[OrderRequest] = []
        self.reconciled: ExecutionResult | None = None
        self.reconcile_requests: list[OrderRequest] = []

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        self.sent.append(request)
        return self.respond(request)

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        self.reconcile_requests.append(request)
        return self.reconciled

    async def collateral(self, user_id: int) -> Funds:
        return Funds(self.cash)

    async def shares(self, user_id: int, token_id: str) -> Funds:
        return Funds(Decimal(0))
