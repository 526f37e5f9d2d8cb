"""An account's daily PnL series (store/pnl_daily.py) through the API: a follower's, a config's, or a
watched leader's as copied by this account's followers. Only what the account owns: anything else is
"not found", like what does not exist."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from polyhunter.service.auth import Principal
from polyhunter.service.resources import NotFoundError
from polyhunter.store.database import unit_of_work
from polyhunter.store.pnl_daily import PnlDay, SqlDailyPnl
from polyhunter.store.repos.owned import OwnedRepository
from polyhunter.store.sessions import SessionFactory

MICRO = Decimal(1_000_000)


class PnlService:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._series = SqlDailyPnl(sessions)

    async def follower(self, who: Principal, follower_id: int, since: date, until: date) -> list[PnlDay]:
        async with unit_of_work(self._sessions) as session:
            if await OwnedRepository(session).follower(who.account_id, follower_id) is None:
                raise NotFoundError(f"follower {follower_id} not found")
        return await self._series.series(user_ids=[follower_id], since=since, until=until)

    async def config(self, who: Principal, config_id: int, since: date, until: date) -> list[PnlDay]:
        async with unit_of_work(self._sessions) as session:
            if await OwnedRepository(session).config(who.account_id, config_id) is None:
                raise NotFoundError(f"config {config_id} not found")
        return await self._series.series(config_ids=[config_id], since=since, until=until)

    async def leader(self, who: Principal, watch_id: int, since: date, until: date) -> list[PnlDay]:
        """The leader as copied by this account's followers (every config of theirs that follows it)."""
        async with unit_of_work(self._sessions) as session:
            repo = OwnedRepository(session)
            row = await repo.leader(who.account_id, watch_id)
            if row is None:
                raise NotFoundError(f"leader {watch_id} not found")
            followers = [f.id for f in await repo.followers(who.account_id)]
        if not followers:
            return []
        return await self._series.series(user_ids=followers, leader=row.address, since=since, until=until)


class PnlDayOut(BaseModel):
    """One UTC day of the series (USDC as exact decimal strings)."""

    day: date
    realized_pnl_usdc: str  # fills and redemptions of the day, net of its fees
    fees_usdc: str
    unrealized_pnl_usdc: str  # open positions at the day's end mark
    invested_usdc: str  # cost of the open positions at the day's end
    total_pnl_usdc: str  # realized + unrealized

    @classmethod
    def of(cls, row: PnlDay) -> PnlDayOut:
        return cls(
            day=row.day,
            realized_pnl_usdc=_usdc(row.realized_micro),
            fees_usdc=_usdc(row.fees_micro),
            unrealized_pnl_usdc=_usdc(row.unrealized_micro),
            invested_usdc=_usdc(row.invested_micro),
            total_pnl_usdc=_usdc(row.total_micro),
        )


def _usdc(micro: int) -> str:
    return format((Decimal(micro) / MICRO).normalize(), "f")
