"""What the market lifecycle (engine/lifecycle.py) needs: the venue's word on a market, a way to
collect a resolved market's payout per custody, and the record of redemptions.

A redemption is recorded PENDING (with what the follower held) before its payout is collected, and
REDEEMED (with the payout and the realized PnL) after: a process killed in between finds the PENDING
row and asks the custody whether the shares are still there (collect) or gone (they were paid: record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import MarketBook, MarketState, RedemptionState


class MarketStatusReader(Protocol):
    async def market_state(self, condition_id: str) -> MarketState | None:
        """The market as the venue shows it now; None if the venue does not know it."""
        ...


@runtime_checkable
class Redeemer(Protocol):
    """Collects a resolved market's payout for one follower (implemented by each custody's executor)."""

    async def held(self, user_id: int, tokens: tuple[str, ...]) -> dict[str, Decimal]:
        """The follower's shares of each token (0 when none)."""
        ...

    async def redeem(
        self, user_id: int, condition_id: str, tokens: tuple[str, ...], winning_token: str
    ) -> Decimal:
        """Redeem every share of the market's tokens; returns the USDC paid (1 per winning share)."""
        ...


@dataclass(frozen=True, slots=True)
class Holder:
    """A follower with executed copies in a market: its custody and its record there."""

    user_id: int
    custody: CustodyMode
    book: MarketBook


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: int
    user_id: int
    custody: CustodyMode
    condition_id: str
    winning_token: str
    state: RedemptionState
    shares_micro: int  # winning shares held when the redemption began
    payout_micro: int
    bought_micro: int
    sold_micro: int
    fees_micro: int
    realized_pnl_micro: int | None
    attempts: int
    last_error: str | None


class RedemptionStore(Protocol):
    async def held_markets(self) -> dict[str, tuple[str, ...]]:
        """Condition id -> tokens of every market with executed copies and no finished redemption."""
        ...

    async def holders(self, condition_id: str) -> list[Holder]:
        """Each follower with executed copies in the market (by its tokens), with its record there."""
        ...

    async def redemptions(self, condition_id: str | None = None) -> list[RedemptionRow]: ...

    async def begin_redemption(
        self,
        holder: Holder,
        condition_id: str,
        winning_token: str,
        shares_micro: int,
        payout_micro: int,
        now: datetime,
    ) -> RedemptionRow:
        """The PENDING row of (follower, market), created once; an existing row is returned as is."""
        ...

    async def finish_redemption(
        self, redemption_id: int, payout_micro: int, pnl_micro: int, now: datetime
    ) -> bool:
        """PENDING -> REDEEMED with the payout and the realized PnL; False if it was not PENDING."""
        ...

    async def note_redemption_failure(self, redemption_id: int, error: str, now: datetime) -> None: ...
