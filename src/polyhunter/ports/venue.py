"""What the engine needs from the outside: market data and executors (Protocols only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from polyhunter.domain.orders import ExecutionResult, Funds, OrderBook, OrderRequest


class MarketData(Protocol):
    async def book(self, token_id: str) -> OrderBook: ...

    async def midpoint(self, token_id: str) -> Decimal | None: ...

    async def last_trade_price(self, token_id: str) -> Decimal | None: ...

    async def fee_rate(self, token_id: str) -> Decimal:
        """The market's taker fee rate (0.04 = 4 %; 0 where the market charges none)."""
        ...


class Executor(Protocol):
    """Places one copy order. PAPER and EOA implement it; the engine does not branch on which."""

    # True when collateral and shares are read from the venue (a short cache pays); False when the
    # executor keeps them itself (paper): read directly, nothing to cache or adjust.
    remote_funds: bool

    async def execute(self, request: OrderRequest) -> ExecutionResult: ...

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        """After an UNKNOWN submit or a crash: what the venue knows of this copy's order, if anything."""
        ...

    async def collateral(self, user_id: int) -> Funds:
        """The follower's USDC and the exchanges' allowances on it."""
        ...

    async def shares(self, user_id: int, token_id: str) -> Funds:
        """The follower's shares of one token and whether the exchanges may move them."""
        ...
