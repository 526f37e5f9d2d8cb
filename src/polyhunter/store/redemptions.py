"""The `RedemptionStore` port on SQLAlchemy: the markets followers hold (from their executed copies),
each follower's record in a market, and the redemption rows (PENDING, then REDEEMED once)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import MarketBook, RedemptionState
from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.ports.lifecycle import Holder, RedemptionRow
from polyhunter.store.copy_store import translated_errors
from polyhunter.store.database import engine_of, unit_of_work
from polyhunter.store.models import CopyConfigVersion, CopyTrade, Redemption, SignalRecord
from polyhunter.store.models.lifecycle import ERROR_LEN

MICRO = 1_000_000
EXECUTED = CopyTradeState.EXECUTED


def _row(r: Redemption) -> RedemptionRow:
    return RedemptionRow(
        id=r.id,
        user_id=r.user_id,
        custody=r.custody_mode,
        condition_id=r.condition_id,
        winning_token=r.winning_token,
        state=r.state,
        shares_micro=r.shares_micro,
        payout_micro=r.payout_micro,
        bought_micro=r.bought_micro,
        sold_micro=r.sold_micro,
        fees_micro=r.fees_micro,
        realized_pnl_micro=r.realized_pnl_micro,
        attempts=r.attempts,
        last_error=r.last_error,
    )


class SqlRedemptionStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._insert = pg_insert if engine_of(sessions).dialect.name == "postgresql" else sqlite_insert

    async def held_markets(self) -> dict[str, tuple[str, ...]]:
        executed = (
            select(SignalRecord.condition_id, CopyTrade.asset, CopyTrade.user_id)
            .join(SignalRecord, SignalRecord.key == CopyTrade.signal_key)
            .where(CopyTrade.state == EXECUTED, CopyTrade.filled_size_micro > 0)
            .distinct()
        )
        redeemed = select(Redemption.user_id, Redemption.condition_id).where(
            Redemption.state == RedemptionState.REDEEMED
        )
        async with translated_errors(), self.sessions() as session:
            rows = (await session.execute(executed)).all()
            done = {(int(u), str(c)) for u, c in (await session.execute(redeemed)).all()}
        out: dict[str, dict[str, None]] = defaultdict(dict)
        for condition_id, asset, user_id in rows:
            if (int(user_id), str(condition_id)) not in done:
                out[str(condition_id)][str(asset)] = None
        return {cid: tuple(tokens) for cid, tokens in out.items()}

    async def holders(self, condition_id: str) -> list[Holder]:
        notional = func.coalesce(
            CopyTrade.filled_notional_micro,
            CopyTrade.filled_size_micro * CopyTrade.filled_price_micro / MICRO,
        )
        stmt = (
            select(
                CopyTrade.user_id,
                CopyConfigVersion.custody_mode,
                CopyTrade.side,
                func.sum(notional),
                func.sum(func.coalesce(CopyTrade.fees_micro, 0)),
            )
            .join(SignalRecord, SignalRecord.key == CopyTrade.signal_key)
            .join(
                CopyConfigVersion,
                (CopyConfigVersion.config_id == CopyTrade.config_id)
                & (CopyConfigVersion.version == CopyTrade.config_version),
            )
            .where(SignalRecord.condition_id == condition_id, CopyTrade.state == EXECUTED)
            .group_by(CopyTrade.user_id, CopyConfigVersion.custody_mode, CopyTrade.side)
        )
        books: dict[tuple[int, CustodyMode], list[int]] = defaultdict(lambda: [0, 0, 0])
        async with translated_errors(), self.sessions() as session:
            for user_id, custody, side, total, fees in (await session.execute(stmt)).all():
                book = books[(int(user_id), CustodyMode(custody))]
                book[0 if Side(side) is Side.BUY else 1] += int(total or 0)
                book[2] += int(fees or 0)
        return [
            Holder(user_id, custody, MarketBook(bought, sold, fees))
            for (user_id, custody), (bought, sold, fees) in sorted(books.items())
        ]

    async def redemptions(self, condition_id: str | None = None) -> list[RedemptionRow]:
        stmt = select(Redemption).order_by(Redemption.id)
        if condition_id is not None:
            stmt = stmt.where(Redemption.condition_id == condition_id)
        async with translated_errors(), self.sessions() as session:
            return [_row(r) for r in (await session.scalars(stmt)).all()]

    async def begin_redemption(
        self,
        holder: Holder,
        condition_id: str,
        winning_token: str,
        shares_micro: int,
        payout_micro: int,
        now: datetime,
    ) -> RedemptionRow:
        values = {
            "user_id": holder.user_id,
            "custody_mode": holder.custody,
            "condition_id": condition_id,
            "winning_token": winning_token,
            "state": RedemptionState.PENDING,
            "shares_micro": shares_micro,
            "payout_micro": payout_micro,
            "bought_micro": holder.book.bought_micro,
            "sold_micro": holder.book.sold_micro,
            "fees_micro": holder.book.fees_micro,
            "attempts": 0,
            "created_at": now,
        }
        async with translated_errors(), unit_of_work(self.sessions) as session:
            await session.execute(
                self._insert(Redemption)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["user_id", "condition_id"])
            )
            found = await session.scalar(
                select(Redemption).where(
                    Redemption.user_id == holder.user_id, Redemption.condition_id == condition_id
                )
            )
            assert found is not None
            return _row(found)

    async def finish_redemption(
        self, redemption_id: int, payout_micro: int, pnl_micro: int, now: datetime
    ) -> bool:
        stmt = (
            update(Redemption)
            .where(Redemption.id == redemption_id, Redemption.state == RedemptionState.PENDING)
            .values(
                state=RedemptionState.REDEEMED,
                payout_micro=payout_micro,
                realized_pnl_micro=pnl_micro,
                redeemed_at=now,
                last_error=None,
            )
        )
        async with translated_errors(), unit_of_work(self.sessions) as session:
            return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def note_redemption_failure(self, redemption_id: int, error: str, now: datetime) -> None:
        stmt = (
            update(Redemption)
            .where(Redemption.id == redemption_id, Redemption.state == RedemptionState.PENDING)
            .values(attempts=Redemption.attempts + 1, last_error=error[:ERROR_LEN])
        )
        async with translated_errors(), unit_of_work(self.sessions) as session:
            await session.execute(stmt)
