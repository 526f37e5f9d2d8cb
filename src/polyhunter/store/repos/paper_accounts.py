"""Paper accounts in the store: cash per PAPER follower (`paper_accounts`) and holdings per token
(`positions` rows of the follower's PAPER wallet). Amounts are integer micro-units."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.store.base import utcnow
from polyhunter.store.models import PaperAccount, Position
from polyhunter.store.repos.sql_helpers import cached_upsert


@dataclass(frozen=True, slots=True)
class PaperHolding:
    shares_micro: int
    avg_price_micro: int  # cost / shares, micro-USDC per share
    condition_id: str | None = None


@dataclass(slots=True)
class StoredPaperAccount:
    user_id: int
    wallet_id: int
    cash_micro: int
    starting_cash_micro: int
    realized_pnl_micro: int
    holdings: dict[str, PaperHolding] = field(default_factory=dict)  # by token; only non-zero ones


class PaperAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load_all(self, users: Collection[int] | None = None) -> dict[int, StoredPaperAccount]:
        """Every stored paper account (or these followers') with its non-zero holdings, by user id."""
        sel = select(PaperAccount)
        if users is not None:
            sel = sel.where(PaperAccount.user_id.in_(sorted(set(users))))
        accounts = {
            row.user_id: StoredPaperAccount(
                row.user_id, row.wallet_id, row.cash_micro, row.starting_cash_micro, row.realized_pnl_micro
            )
            for row in await self._session.scalars(sel)
        }
        if not accounts:
            return {}
        positions = await self._session.scalars(
            select(Position).where(Position.user_id.in_(list(accounts)), Position.shares_micro > 0)
        )
        for pos in positions:
            acct = accounts[pos.user_id]
            if pos.wallet_id == acct.wallet_id:
                acct.holdings[pos.asset] = PaperHolding(
                    pos.shares_micro, pos.avg_price_micro, pos.condition_id
                )
        return accounts

    async def save(
        self,
        account: StoredPaperAccount,
        changed: Mapping[str, PaperHolding],
        *,
        now: datetime | None = None,
    ) -> None:
        """Write the account's cash and the holdings in `changed` (a zero-share holding is written as
        zero: the position was closed)."""
        at = now or utcnow()
        account_upsert = cached_upsert(
            self._session,
            PaperAccount,
            ("user_id",),
            ("wallet_id", "cash_micro", "realized_pnl_micro", "updated_at"),
        )
        await self._session.execute(
            account_upsert,
            {
                "user_id": account.user_id,
                "wallet_id": account.wallet_id,
                "cash_micro": account.cash_micro,
                "starting_cash_micro": account.starting_cash_micro,
                "realized_pnl_micro": account.realized_pnl_micro,
                "updated_at": at,
            },
        )
        if not changed:
            return
        position_upsert = cached_upsert(
            self._session,
            Position,
            ("user_id", "wallet_id", "asset"),
            ("shares_micro", "avg_price_micro", "updated_at"),
        )
        await self._session.execute(
            position_upsert,
            [
                {
                    "user_id": account.user_id,
                    "wallet_id": account.wallet_id,
                    "asset": asset,
                    "condition_id": holding.condition_id,
                    "shares_micro": holding.shares_micro,
                    "avg_price_micro": holding.avg_price_micro,
                    "realized_pnl_micro": 0,
                    "updated_at": at,
                }
                for asset, holding in changed.items()
            ],
        )
