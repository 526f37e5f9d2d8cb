"""The value of a follower's open positions, for PROPORTIONAL sizing (see `domain.sizing`).

* PAPER: each paper position at the current book's midpoint (the engine's quote cache), or at its
  average price when the book cannot be read or is one-sided;
* EOA: the Data API's current value of the positions of the wallet's funder address (the same
  cached `/positions` reader the engine uses for leaders; it lags a fill by up to its TTL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import OrderBook
from polyhunter.engine.positions import LeaderPortfolio
from polyhunter.execution.eoa import EoaExecutor
from polyhunter.execution.paper import PaperExecutor
from polyhunter.log import get_logger

log = get_logger(__name__)


class PositionsValue:
    def __init__(
        self,
        paper: PaperExecutor,
        eoa: EoaExecutor,
        portfolio: LeaderPortfolio,
        book: Callable[[str], Awaitable[OrderBook]],
    ) -> None:
        self._paper = paper
        self._eoa = eoa
        self._portfolio = portfolio
        self._book = book

    async def __call__(self, custody: CustodyMode, user_id: int) -> Decimal:
        if custody is CustodyMode.PAPER:
            return await self._paper_value(user_id)
        if custody is CustodyMode.EOA:
            return await self._portfolio.equity(self._eoa.funder(user_id).lower())
        raise ValueError(f"no positions value for custody {custody}")

    async def _paper_value(self, user_id: int) -> Decimal:
        total = Decimal(0)
        for token, pos in list(self._paper.account(user_id).positions.items()):
            mark = pos.avg_price
            try:
                mid = (await self._book(token)).midpoint
            except Exception as exc:  # noqa: BLE001 - an unreadable book marks at cost
                log.warning(
                    "no book to mark a paper position; using its average price", token=token, error=str(exc)
                )
                mid = None
            if mid is not None:
                mark = mid
            total += pos.shares * mark
        return total
