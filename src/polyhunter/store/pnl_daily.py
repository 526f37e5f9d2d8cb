"""The daily PnL series in the store (`pnl_daily`, migration 0011): recomputed from the store's own
executed copies (live and archived) and REDEEMED redemptions by `domain.daily_pnl`, upserted per
(config, day) so writing again (a timer, a clean stop, a restart) gives the same rows; and the reads:
per config, rolled up per follower and per leader as copied."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import case, func, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.daily_pnl import DayPnl, FillEvent, RedeemEvent, daily_series, utc_day
from polyhunter.domain.lifecycle import RedemptionState
from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.store.copy_store import translated_errors
from polyhunter.store.database import engine_of, unit_of_work
from polyhunter.store.models import (
    COPY_TRADES_ARCHIVE,
    SIGNALS_ARCHIVE,
    CopyConfig,
    CopyTrade,
    Leader,
    PnlDaily,
    Redemption,
    SignalRecord,
)

MICRO = Decimal(1_000_000)
STREAM_ROWS = 5_000  # executed copies read at a time
Marks = Callable[[str], Awaitable[Decimal | None]]


def _micro(x: Decimal) -> int:
    return int((x * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _executed(table: Any) -> Any:
    c = table.c
    return select(
        c.id,
        c.config_id,
        c.user_id,
        c.signal_key,
        c.asset,
        c.side,
        c.filled_size_micro,
        func.coalesce(c.filled_notional_micro, c.filled_size_micro * c.filled_price_micro / 1_000_000).label(
            "notional"
        ),
        func.coalesce(c.fees_micro, 0).label("fee"),
        func.coalesce(c.executed_at, c.updated_at).label("at"),
    ).where(c.state == CopyTradeState.EXECUTED.value, c.filled_size_micro > 0)


@dataclass(frozen=True, slots=True)
class PnlDay:
    """A row of the series (one config, or a roll-up), in micro-USDC."""

    day: date
    realized_micro: int
    fees_micro: int
    unrealized_micro: int
    invested_micro: int

    @property
    def total_micro(self) -> int:
        return self.realized_micro + self.unrealized_micro


class SqlDailyPnl:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._insert = pg_insert if engine_of(sessions).dialect.name == "postgresql" else sqlite_insert
        # what this process last wrote per (config, day): later writes send only the rows that changed
        # (the first, e.g. after a restart, sends every row)
        self._written: dict[tuple[int, date], tuple[int, int, int, int]] = {}

    def _fills_query(self) -> Any:
        executed = union_all(_executed(CopyTrade.__table__), _executed(COPY_TRADES_ARCHIVE)).subquery(
            "executed"
        )
        known = union_all(
            select(SignalRecord.key, SignalRecord.condition_id),
            select(SIGNALS_ARCHIVE.c.key, SIGNALS_ARCHIVE.c.condition_id),
        ).subquery("known")
        return (
            select(
                executed.c.at,
                executed.c.config_id,
                executed.c.user_id,
                executed.c.asset,
                known.c.condition_id,
                executed.c.side,
                executed.c.filled_size_micro,
                executed.c.notional,
                executed.c.fee,
            )
            .join(known, known.c.key == executed.c.signal_key)
            .order_by(executed.c.config_id, executed.c.id)  # one config's fills together, in order
        )

    async def _redemptions(self) -> dict[int, list[RedeemEvent]]:
        redeemed_q = select(
            Redemption.redeemed_at, Redemption.user_id, Redemption.condition_id, Redemption.winning_token
        ).where(Redemption.state == RedemptionState.REDEEMED, Redemption.redeemed_at.is_not(None))
        async with translated_errors(), self.sessions() as session:
            redeemed = (await session.execute(redeemed_q)).all()
        by_user: dict[int, list[RedeemEvent]] = {}
        for at, user_id, cid, token in redeemed:
            by_user.setdefault(int(user_id), []).append(
                RedeemEvent(_aware(at), int(user_id), str(cid), str(token))
            )
        return by_user

    async def events(self) -> tuple[list[FillEvent], list[RedeemEvent]]:
        """Every executed copy's fill and every redemption (all in memory: for tests and small stores)."""
        async with translated_errors(), self.sessions() as session:
            rows = (await session.execute(self._fills_query())).all()
        redemptions = [r for events in (await self._redemptions()).values() for r in events]
        return [_fill(row) for row in rows], redemptions

    async def _open_assets(self) -> list[str]:
        """Tokens with shares bought and not all sold (`domain.daily_pnl.open_assets`, summed in SQL)."""
        executed = union_all(_executed(CopyTrade.__table__), _executed(COPY_TRADES_ARCHIVE)).subquery("e")
        signed = case(
            (executed.c.side == Side.BUY.value, executed.c.filled_size_micro),
            else_=-executed.c.filled_size_micro,
        )
        query = (
            select(executed.c.asset)
            .group_by(executed.c.asset)
            .having(func.sum(signed) > 0)
            .order_by(executed.c.asset)
        )
        async with translated_errors(), self.sessions() as session:
            return [str(a) for a in (await session.scalars(query)).all()]

    async def compute(self, now: datetime, marks: Marks | None = None) -> list[DayPnl]:
        """Every config's rows up to `now`'s UTC day; today's open positions at `marks` where it answers.

        The executed copies are read as a stream, one config at a time (ordered by config): memory holds
        one config's fills, not the store's (reading them all at once added ~30 MiB of RSS a minute at
        the overload benchmark's 1,000 copies/s). The CPU work is the same: every fill, each write."""
        redemptions = await self._redemptions()
        today = utc_day(now)
        live: dict[str, Decimal] = {}
        if marks is not None:  # asked before the stream: no connection is held while the venue answers
            for asset in await self._open_assets():
                mark = await marks(asset)
                if mark is not None:
                    live[asset] = mark
        out: list[DayPnl] = []

        async def flush(fills: list[FillEvent]) -> None:
            mine = redemptions.get(fills[0].user_id, [])
            # CPU-bound: off the event loop, so ingestion and copying keep running
            out.extend(await asyncio.to_thread(daily_series, fills, mine, today, live))

        group: list[FillEvent] = []
        async with translated_errors(), self.sessions() as session:
            result = await session.stream(self._fills_query().execution_options(yield_per=STREAM_ROWS))
            async for partition in result.partitions(STREAM_ROWS):
                for row in partition:
                    fill = _fill(row)
                    if group and fill.config_id != group[0].config_id:
                        await flush(group)
                        group = []
                    group.append(fill)
        if group:
            await flush(group)
        return out

    async def write(self, now: datetime, marks: Marks | None = None) -> list[DayPnl]:
        """Recompute every (config, day) row and upsert those that changed since this object's last
        write (all of them the first time); returns every row."""
        rows = await self.compute(now, marks)
        amounts = {
            (r.config_id, r.day): (
                _micro(r.realized),
                _micro(r.fees),
                _micro(r.unrealized),
                _micro(r.invested),
            )
            for r in rows
        }
        changed = [
            r for r in rows if self._written.get((r.config_id, r.day)) != amounts[(r.config_id, r.day)]
        ]
        if not changed:
            return rows
        async with translated_errors(), unit_of_work(self.sessions) as session:
            found = await session.execute(select(CopyConfig.id, CopyConfig.leader_id))
            leaders = {int(config_id): int(leader_id) for config_id, leader_id in found.all()}
            values = []
            for r in changed:
                if r.config_id not in leaders:
                    continue
                realized, fees, unrealized, invested = amounts[(r.config_id, r.day)]
                values.append(
                    {
                        "config_id": r.config_id,
                        "day": r.day,
                        "user_id": r.user_id,
                        "leader_id": leaders[r.config_id],
                        "realized_micro": realized,
                        "fees_micro": fees,
                        "unrealized_micro": unrealized,
                        "invested_micro": invested,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(values), 500):
                stmt = self._insert(PnlDaily).values(values[start : start + 500])
                stmt = stmt.on_conflict_do_update(
                    index_elements=["config_id", "day"],
                    set_={
                        name: getattr(stmt.excluded, name)
                        for name in (
                            "realized_micro",
                            "fees_micro",
                            "unrealized_micro",
                            "invested_micro",
                            "updated_at",
                        )
                    },
                )
                await session.execute(stmt)
        self._written.update((key, amounts[key]) for key in ((r.config_id, r.day) for r in changed))
        return rows

    async def series(
        self,
        *,
        config_ids: Sequence[int] | None = None,
        user_ids: Sequence[int] | None = None,
        leader: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[PnlDay]:
        """The rows of the matching configs summed per day, oldest first."""
        stmt = select(
            PnlDaily.day,
            func.sum(PnlDaily.realized_micro),
            func.sum(PnlDaily.fees_micro),
            func.sum(PnlDaily.unrealized_micro),
            func.sum(PnlDaily.invested_micro),
        ).group_by(PnlDaily.day)
        if config_ids is not None:
            stmt = stmt.where(PnlDaily.config_id.in_(list(config_ids)))
        if user_ids is not None:
            stmt = stmt.where(PnlDaily.user_id.in_(list(user_ids)))
        if leader is not None:
            stmt = stmt.join(Leader, Leader.id == PnlDaily.leader_id).where(Leader.address == leader.lower())
        if since is not None:
            stmt = stmt.where(PnlDaily.day >= since)
        if until is not None:
            stmt = stmt.where(PnlDaily.day <= until)
        async with translated_errors(), self.sessions() as session:
            rows = (await session.execute(stmt.order_by(PnlDaily.day))).all()
        return [PnlDay(d, int(r or 0), int(f or 0), int(u or 0), int(i or 0)) for d, r, f, u, i in rows]

    async def day_by_user(self, day: date) -> dict[int, PnlDay]:
        """Each follower's roll-up of `day`."""
        stmt = (
            select(
                PnlDaily.user_id,
                func.sum(PnlDaily.realized_micro),
                func.sum(PnlDaily.fees_micro),
                func.sum(PnlDaily.unrealized_micro),
                func.sum(PnlDaily.invested_micro),
            )
            .where(PnlDaily.day == day)
            .group_by(PnlDaily.user_id)
        )
        async with translated_errors(), self.sessions() as session:
            rows = (await session.execute(stmt)).all()
        return {
            int(u): PnlDay(day, int(r or 0), int(f or 0), int(x or 0), int(i or 0)) for u, r, f, x, i in rows
        }


def _aware(at: datetime | str | None) -> datetime:
    """A stored time as aware UTC (SQLite hands a union's column back as naive UTC, or as its text)."""
    if at is None:  # never: executed_at, else updated_at, which is NOT NULL
        raise ValueError("an executed copy without a time")
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _fill(row: Any) -> FillEvent:
    at, config_id, user_id, asset, cid, side, size, notional, fee = row
    return FillEvent(
        at=_aware(at),
        config_id=int(config_id),
        user_id=int(user_id),
        asset=str(asset),
        condition_id=str(cid),
        side=Side(side),
        shares=Decimal(int(size)) / MICRO,
        notional=Decimal(int(notional or 0)) / MICRO,
        fee=Decimal(int(fee or 0)) / MICRO,
    )
