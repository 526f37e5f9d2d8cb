"""PAPER executor: fills against the venue's current book without sending anything.

Each follower has a paper account (cash and positions with average cost). A copy takes liquidity
from the live book level by level up to its limit, exactly as a FOK/FAK would, and the account
moves; nothing reaches the venue. A taker fill pays the venue's fee of the market (`fee_rate`, the
fee formula of `domain.lifecycle`, per level, rounded once as the venue does): a BUY on top of its
cost, a SELL out of its proceeds. A resolved market is redeemed at its payout (`redeem`). A FOK the book cannot fill in full, or a FAK with nothing to match,
comes back KILLED with the venue's text for it. Orders are remembered by client id so a reconcile after a crash
finds them. `on_change` (if given) is awaited after every fill with the follower's account and the
token that moved: the supervisor persists the account there, so a restart resumes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.adapters.polymarket.order_errors import FAK_NO_MATCH, FOK_KILLED, NO_BALANCE
from polyhunter.domain.book_math import BookSide, walk_book
from polyhunter.domain.lifecycle import fee_of_levels
from polyhunter.domain.orders import (
    ExecStatus,
    ExecutionResult,
    Funds,
    OrderBook,
    OrderRequest,
    OrderType,
)
from polyhunter.domain.signal import Side
from polyhunter.execution.recent import RecentMap


@dataclass(slots=True)
class PaperPosition:
    shares: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # USDC paid for the shares still held

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.shares if self.shares > 0 else Decimal(0)


@dataclass(slots=True)
class PaperAccount:
    cash: Decimal
    starting_cash: Decimal
    realized_pnl: Decimal = Decimal(0)
    positions: dict[str, PaperPosition] = field(default_factory=dict)

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        held = sum((p.shares * marks.get(t, p.avg_price) for t, p in self.positions.items()), Decimal(0))
        return self.cash + held


OnChange = Callable[[int, PaperAccount, str], Awaitable[None]]
FeeRate = Callable[[str], Awaitable[Decimal]]


def _levels(side: BookSide, shares: Decimal, limit: Decimal, buying: bool) -> list[tuple[Decimal, Decimal]]:
    """(price, shares) taken at each level by a walk of `shares` up to `limit` (as `walk_book`)."""
    out, remaining = [], shares
    for level in side.levels:
        if remaining <= 0 or (level.price > limit if buying else level.price < limit):
            break
        take = min(remaining, level.size)
        out.append((level.price, take))
        remaining -= take
    return out


class PaperExecutor:
    remote_funds = False  # the accounts live here: the engine reads them directly

    def __init__(
        self,
        book: Callable[[str], Awaitable[OrderBook]],
        starting_cash: Decimal = Decimal(1000),
        *,
        on_change: OnChange | None = None,
        remember_s: float | None = None,
        fee_rate: FeeRate | None = None,
    ) -> None:
        """`book` gives the current book of a token (the engine's quote cache: one fetch per token);
        results are kept for reconciliation for `remember_s` (default: up to 10,000 of them)."""
        self._book = book
        self._fee_rate = fee_rate
        self._starting_cash = starting_cash
        self._on_change = on_change
        self.accounts: dict[int, PaperAccount] = {}
        self._orders: RecentMap[str, ExecutionResult] = RecentMap(max_age_s=remember_s)

    def account(self, user_id: int) -> PaperAccount:
        acct = self.accounts.get(user_id)
        if acct is None:
            acct = self.accounts[user_id] = PaperAccount(self._starting_cash, self._starting_cash)
        return acct

    async def collateral(self, user_id: int) -> Funds:
        return Funds(self.account(user_id).cash)  # paper money needs no allowance

    async def shares(self, user_id: int, token_id: str) -> Funds:
        pos = self.account(user_id).positions.get(token_id)
        return Funds(pos.shares if pos else Decimal(0))

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        return self._orders.get(request.client_id)

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        result = await self._fill(request)
        if request.client_id:
            self._orders[request.client_id] = result
        if self._on_change is not None and result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL):
            await self._on_change(request.user_id, self.account(request.user_id), request.token_id)
        return result

    async def _fill(self, request: OrderRequest) -> ExecutionResult:
        book = await self._book(request.token_id)
        buying = request.side is Side.BUY
        walk = walk_book(
            book.asks if buying else book.bids, request.shares, request.limit_price, buying=buying
        )
        if request.order_type is OrderType.FOK and not walk.complete:
            return ExecutionResult(ExecStatus.KILLED, error=FOK_KILLED)
        if walk.shares <= 0:
            return ExecutionResult(ExecStatus.KILLED, error=FAK_NO_MATCH)
        acct = self.account(request.user_id)
        rate = await self._fee_rate(request.token_id) if self._fee_rate is not None else Decimal(0)
        side = book.asks if buying else book.bids
        fee = min(fee_of_levels(_levels(side, request.shares, request.limit_price, buying), rate), walk.cost)
        pos = acct.positions.setdefault(request.token_id, PaperPosition())
        if buying:
            if walk.cost + fee > acct.cash:
                if pos.shares == 0:
                    del acct.positions[request.token_id]
                return ExecutionResult(ExecStatus.REJECTED, error=NO_BALANCE)
            acct.cash -= walk.cost + fee
            acct.realized_pnl -= fee
            pos.shares += walk.shares
            pos.cost += walk.cost
        else:
            if walk.shares > pos.shares:
                return ExecutionResult(ExecStatus.REJECTED, error=NO_BALANCE)
            released_cost = pos.avg_price * walk.shares
            acct.cash += walk.cost - fee
            acct.realized_pnl += walk.cost - released_cost - fee
            pos.shares -= walk.shares
            pos.cost -= released_cost
            if pos.shares == 0:
                del acct.positions[request.token_id]
        order_id = (
            "0x" + hashlib.sha256(f"paper:{request.client_id or request.copy_trade_id}".encode()).hexdigest()
        )
        status = ExecStatus.FILLED if walk.complete else ExecStatus.PARTIAL
        return ExecutionResult(status, walk.shares, walk.vwap, fee, order_id, amount=walk.cost)

    # -------------------------------------------------------------------------- resolved markets

    async def held(self, user_id: int, tokens: tuple[str, ...]) -> dict[str, Decimal]:
        positions = self.account(user_id).positions
        return {t: positions[t].shares if t in positions else Decimal(0) for t in tokens}

    async def redeem(
        self, user_id: int, condition_id: str, tokens: tuple[str, ...], winning_token: str
    ) -> Decimal:
        """Pay 1 USDC per winning share, drop the market's positions (saved like a fill)."""
        acct = self.account(user_id)
        payout = Decimal(0)
        for token in tokens:
            pos = acct.positions.pop(token, None)
            if pos is None:
                continue
            paid = pos.shares if token == winning_token else Decimal(0)
            payout += paid
            acct.cash += paid
            acct.realized_pnl += paid - pos.cost
            if self._on_change is not None:
                await self._on_change(user_id, acct, token)
        return payout
