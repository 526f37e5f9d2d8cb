"""Follower funds for sizing and preflight: a short-TTL cache of each follower's balances and
allowances (in-flight de-duplicated), local holds for copies in flight, and local bookkeeping of fills.

* A copy that passes preflight *holds* what it needs (USDC for a BUY, shares for a SELL) until its
  result is known; concurrent copies of one follower see each other's holds, so together they never
  pass a balance or an allowance that covers only some of them.
* A known fill moves the cached values itself (BUY: cash and allowance go down by notional + fee,
  shares up by the filled size; SELL: shares down, cash up by the proceeds less fee) without renewing
  the entry: the TTL still refreshes it from the venue. The own-wallet path thus asks the venue once
  per TTL, not once per copy. An entry read from the venue while the order was out may already show
  the fill: it is dropped instead of adjusted (booking the fill twice).
* An order the venue killed unfilled (FOK/FAK) moved nothing: the cache stays. An unknown result,
  or any other rejection (the venue may disagree with our numbers), drops the follower's entries so
  the next copy reads the venue again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import assert_never

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import buy_fee_bound, shares_affordable
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds
from polyhunter.domain.signal import Side
from polyhunter.engine.ttl_cache import TtlCache
from polyhunter.ports.venue import Executor

FundsKey = tuple[CustodyMode, int, str]  # (custody, user, "" for USDC or the token id)

INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
INSUFFICIENT_ALLOWANCE = "INSUFFICIENT_ALLOWANCE"


@dataclass(frozen=True, slots=True)
class Hold:
    """What one copy in flight holds of its follower's funds."""

    custody: CustodyMode
    user_id: int
    side: Side
    token: str
    amount: Decimal  # USDC for a BUY, shares for a SELL
    taken_at: float  # the cache's clock when the hold was taken

    @property
    def key(self) -> FundsKey:
        return (self.custody, self.user_id, "" if self.side is Side.BUY else self.token)


def _minus(value: Decimal | None, amount: Decimal) -> Decimal | None:
    return None if value is None else max(Decimal(0), value - amount)


class FollowerFunds:
    def __init__(
        self,
        executors: Mapping[CustodyMode, Executor],
        ttl_ms: int,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executors = executors
        self.cache: TtlCache[FundsKey, Funds] = TtlCache(ttl_ms, max_entries, clock)
        self._clock = clock
        self._held: dict[FundsKey, Decimal] = {}

    async def get(self, custody: CustodyMode, user_id: int, token: str = "") -> Funds:
        """The follower's USDC (`token` "") or shares of `token`, as last read (or adjusted)."""
        executor = self._executors[custody]

        async def load() -> Funds:
            if token:
                return await executor.shares(user_id, token)
            return await executor.collateral(user_id)

        if not executor.remote_funds:
            return await load()  # kept in process (paper): always current, nothing to cache
        return await self.cache.get((custody, user_id, token), load)

    def forget_users(self, users: Callable[[int], bool]) -> int:
        """Drop the cached funds of these followers (their partition moved: engine/handover.py). Holds of
        copies still in flight here stay: they are released when those copies end."""
        return self.cache.invalidate_where(lambda key: users(key[1]))

    def held(self, key: FundsKey) -> Decimal:
        return self._held.get(key, Decimal(0))

    async def hold(
        self, custody: CustodyMode, user_id: int, side: Side, token: str, amount: Decimal, neg_risk: bool
    ) -> tuple[Hold | None, str | None]:
        """Hold `amount` for one copy, or say why the follower cannot pay it (balance, or the allowance
        of the exchange the order settles through)."""
        funds = await self.get(custody, user_id, "" if side is Side.BUY else token)
        hold = Hold(custody, user_id, side, token, amount, self._clock())
        # No await from here on: the check and the hold are one step for concurrent copies.
        held = self.held(hold.key)
        if funds.balance - held < amount:
            return None, INSUFFICIENT_BALANCE
        allowance = funds.allowance_for(neg_risk)
        if allowance is not None and allowance - held < amount:
            return None, INSUFFICIENT_ALLOWANCE
        self._held[hold.key] = held + amount
        return hold, None

    async def hold_buy(
        self,
        custody: CustodyMode,
        user_id: int,
        token: str,
        shares: Decimal,
        limit: Decimal,
        rate: Decimal,
        neg_risk: bool,
    ) -> tuple[Hold | None, Decimal, str | None]:
        """Hold a BUY's amount plus the most its fee can be. When the amount fits what the follower has
        but not with the fee (a BUY of the whole balance), the BUY is sized down to what it can pay
        with its fee (`shares_affordable`): (hold, shares, None). A BUY whose amount alone is more than
        the follower has is not sized down: (None, 0, reason), as before fees."""
        hold, short = await self.hold(
            custody, user_id, Side.BUY, token, shares * limit + buy_fee_bound(shares, limit, rate), neg_risk
        )
        if hold is not None:
            return hold, shares, None
        funds = await self.get(custody, user_id)
        available = funds.spendable(neg_risk) - self.held((custody, user_id, ""))
        if shares * limit > available:
            return None, Decimal(0), short
        fitted = min(shares, shares_affordable(available, limit, rate))
        if fitted <= 0 or fitted == shares:
            return None, Decimal(0), short
        hold, short = await self.hold(
            custody, user_id, Side.BUY, token, fitted * limit + buy_fee_bound(fitted, limit, rate), neg_risk
        )
        return (hold, fitted, None) if hold is not None else (None, Decimal(0), short)

    def settle(self, hold: Hold, result: ExecutionResult | None) -> None:
        """Release the hold; book a known fill locally, forget the follower's numbers if unsure.
        `result` None: nothing was sent."""
        left = self.held(hold.key) - hold.amount
        if left > 0:
            self._held[hold.key] = left
        else:
            self._held.pop(hold.key, None)
        if result is None or not self._executors[hold.custody].remote_funds:
            return
        cash_key: FundsKey = (hold.custody, hold.user_id, "")
        shares_key: FundsKey = (hold.custody, hold.user_id, hold.token)
        match result.status:
            case ExecStatus.FILLED | ExecStatus.PARTIAL:
                for key in (cash_key, shares_key):
                    stored = self.cache.stored_at(key)
                    if stored is not None and stored > hold.taken_at:
                        self.cache.invalidate(key)  # read while the order was out: it may show the fill
                self._book_fill(cash_key, shares_key, hold.side, result)
            case ExecStatus.KILLED:
                return  # killed unfilled: nothing moved
            case ExecStatus.REJECTED | ExecStatus.UNKNOWN:
                self.cache.invalidate(cash_key)
                self.cache.invalidate(shares_key)
            case _:
                assert_never(result.status)

    def _book_fill(
        self, cash_key: FundsKey, shares_key: FundsKey, side: Side, result: ExecutionResult
    ) -> None:
        cash = self.cache.peek(cash_key)
        shares = self.cache.peek(shares_key)
        filled, notional, fee = result.filled_shares, result.notional, result.fee
        if side is Side.BUY:
            if cash is not None:
                spent = notional + fee
                self.cache.replace(
                    cash_key,
                    Funds(
                        max(Decimal(0), cash.balance - spent),
                        _minus(cash.allowance, spent),
                        _minus(cash.neg_risk_allowance, spent),
                    ),
                )
            if shares is not None:
                self.cache.replace(shares_key, dataclasses.replace(shares, balance=shares.balance + filled))
        else:
            if shares is not None:
                self.cache.replace(
                    shares_key, dataclasses.replace(shares, balance=max(Decimal(0), shares.balance - filled))
                )
            if cash is not None:  # proceeds raise the balance, never the allowance
                self.cache.replace(cash_key, dataclasses.replace(cash, balance=cash.balance + notional - fee))
