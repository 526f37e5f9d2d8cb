"""The PENDING sweep: a copy still PENDING past its time-to-live is reconciled, then closed.

If the venue shows its order filled, it becomes EXECUTED (with the venue's fill); otherwise EXPIRED.
Copies parked for aggregation whose window passed end SKIPPED here too. Rows are claimed with
`locked_by` (FOR UPDATE SKIP LOCKED on PostgreSQL), so several supervisors never sweep the same row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import ExecStatus, OrderRequest
from polyhunter.domain.signal import Side, from_micro
from polyhunter.domain.states import CopyTradeState, OrderStatus
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.copy_store import Outcome, finish_copies, finish_orders
from polyhunter.log import get_logger
from polyhunter.ports.venue import Executor
from polyhunter.store.database import unit_of_work
from polyhunter.store.models import CopyTrade, Order, SignalRecord
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.copy_trades import CopyTradeRepository, FillSummary

log = get_logger(__name__)
EXECUTED = CopyTradeState.EXECUTED
DEFAULT_TICK = Decimal("0.01")


@dataclass(slots=True)
class SweepStats:
    expired: int = 0
    reconciled: int = 0
    aggregates_closed: int = 0
    runs: int = 0


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the store and the market say about a PENDING copy's order, for its reconcile request."""

    condition_id: str  # of the copy's signal
    limit_micro: int | None  # the signed order's limit and size (its `orders` row), if it was recorded
    size_micro: int | None
    tick_size: Decimal  # the token's, from its book (the order was signed on it)
    neg_risk: bool


def _request(row: CopyTrade, recorded: _Recorded) -> OrderRequest:
    limit = recorded.limit_micro if recorded.limit_micro is not None else row.requested_price_micro
    size = recorded.size_micro if recorded.size_micro is not None else row.requested_size_micro
    return OrderRequest(
        copy_trade_id=row.id,
        signal_key=row.signal_key,
        config_id=row.config_id,
        user_id=row.user_id,
        token_id=row.asset,
        condition_id=recorded.condition_id,
        side=row.side,
        shares=from_micro(size),
        limit_price=from_micro(limit),
        reference_price=from_micro(row.requested_price_micro),
        tick_size=recorded.tick_size,
        neg_risk=recorded.neg_risk,
        client_id=f"{row.signal_key}:{row.config_id}",
    )


class PendingSweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        executors: Mapping[CustodyMode, Executor],
        engine: CopyEngine,
        *,
        ttl_s: int,
        interval_ms: int,
        worker_id: str,
        batch: int = 200,
    ) -> None:
        self._sessions = sessions
        self._executors = executors
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_s)
        self._interval_s = interval_ms / 1000
        self._worker = worker_id
        self._batch = batch
        self.stats = SweepStats()

    async def close_aggregates(self, *, everything: bool = False) -> int:
        closed = self._engine.flush_aggregates(everything=everything)
        if closed:
            async with unit_of_work(self._sessions) as session:
                await finish_copies(session, closed, datetime.now(UTC))
            self.stats.aggregates_closed += len(closed)
        return len(closed)

    async def sweep_once(self) -> int:
        self.stats.runs += 1
        await self.close_aggregates()
        now = datetime.now(UTC)
        async with unit_of_work(self._sessions) as session:
            rows = await CopyTradeRepository(session).claim_stale_pending(
                self._worker, older_than=now - self._ttl, lock_ttl=self._ttl, limit=self._batch, now=now
            )
        held = self._engine.held()
        for row in rows:
            # A copy in flight or parked for aggregation in this process still gets its outcome from the
            # engine: the claim just renewed its lock (so the next batch moves on), settle the others.
            if row.id not in held:
                await self._settle(row)
        return len(rows)

    async def _recorded(self, row: CopyTrade) -> _Recorded:
        """The copy's signal's condition id and its signed order's limit and size from the store; tick
        size and neg-risk from the token's book (the engine's quote cache). A book that cannot be read
        leaves the venue's defaults (0.01, not neg-risk): a reconcile goes by the order's hash and the
        token, so they only describe the order."""
        async with self._sessions() as session:
            condition_id = await session.scalar(
                select(SignalRecord.condition_id).where(SignalRecord.key == row.signal_key)
            )
            order = (
                await session.execute(
                    select(Order.price_micro, Order.size_micro)
                    .where(Order.copy_trade_id == row.id)
                    .order_by(Order.id.desc())
                    .limit(1)
                )
            ).first()
        tick, neg_risk = DEFAULT_TICK, False
        try:
            book = await self._engine.pricer.book(row.asset)
            tick, neg_risk = book.tick_size, book.neg_risk
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("no book for a reconcile request; default tick", token=row.asset, error=str(exc))
        return _Recorded(
            condition_id or "",
            order.price_micro if order is not None else None,
            order.size_micro if order is not None else None,
            tick,
            neg_risk,
        )

    async def _settle(self, row: CopyTrade) -> None:
        async with self._sessions() as session:
            stored = await CopyConfigRepository(session).get(row.config_id, row.config_version)
        result = None
        if stored is not None:
            executor = self._executors.get(stored.config.custody)
            if executor is not None:
                try:
                    result = await executor.reconcile(_request(row, await self._recorded(row)))
                except Exception as exc:  # noqa: BLE001 - cannot tell now: try again next sweep
                    log.warning("reconcile failed; will retry", copy_trade=row.id, error=str(exc))
                    async with unit_of_work(self._sessions) as session:
                        await CopyTradeRepository(session).release(row.id, self._worker)
                    return
        async with unit_of_work(self._sessions) as session:
            repo = CopyTradeRepository(session)
            if result is not None and result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL):
                fill = FillSummary(
                    int(result.filled_shares * 1_000_000),
                    int(result.avg_price * 1_000_000),
                    int(result.fee * 1_000_000),
                    result.venue_order_id or None,
                )
                if await repo.mark_executed(row.id, fill, locked_by=self._worker):
                    self.stats.reconciled += 1
                    outcome = Outcome(row.id, EXECUTED, venue_order_id=fill.venue_order_id, order_sent=True)
                    await finish_orders(session, [outcome], datetime.now(UTC))
                    condition = await session.scalar(
                        select(SignalRecord.condition_id).where(SignalRecord.key == row.signal_key)
                    )
                    # the config's exposure and holding move as for a fill the engine saw itself
                    self._engine.exposure.add(
                        row.config_id,
                        condition or "",
                        row.side,
                        result.filled_shares * result.avg_price,
                        row.asset,
                        result.filled_shares,
                    )
            else:
                reason = "pending past its time-to-live; venue shows no fill"
                if await repo.mark_expired(row.id, reason, locked_by=self._worker):
                    self.stats.expired += 1
                    if (
                        row.side is Side.BUY
                    ):  # its notional held the daily caps (SELLs hold none): give it back
                        await self._engine.guard.refund(
                            row.user_id, row.created_at, row.requested_notional_micro
                        )
                    outcome = Outcome(row.id, CopyTradeState.EXPIRED, order_sent=True)
                    await finish_orders(session, [outcome], datetime.now(UTC), OrderStatus.UNMATCHED)

    async def run(self) -> None:
        while True:
            try:
                while await self.sweep_once() >= self._batch:
                    pass
            except Exception:  # noqa: BLE001 - a failed sweep is retried on the next tick
                log.exception("pending sweep failed")
            await asyncio.sleep(self._interval_s)
