"""The PENDING sweep: a copy still PENDING past its time-to-live is reconciled against the venue, then
closed.

If the venue shows its order filled, it becomes EXECUTED (with the venue's fill); otherwise EXPIRED.
Copies parked for aggregation whose window passed end SKIPPED here too. Rows are claimed with
`locked_by` (`CopyStore.claim_stale_pending`), so several supervisors never sweep the same row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.errors import RetryableError
from polyhunter.domain.orders import ExecStatus, OrderRequest
from polyhunter.domain.signal import Side, from_micro
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.log import get_logger
from polyhunter.ports.store import CopyStore, Fill, PendingCopy
from polyhunter.ports.venue import Executor
from polyhunter.task_drain import raise_if_cancelled

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


def _request(row: PendingCopy, recorded: _Recorded) -> OrderRequest:
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
        store: CopyStore,
        executors: Mapping[CustodyMode, Executor],
        engine: CopyEngine,
        *,
        ttl_s: int,
        interval_ms: int,
        worker_id: str,
        batch: int = 200,
    ) -> None:
        self._store = store
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
            await self._store.close_copies(closed, datetime.now(UTC))
            self.stats.aggregates_closed += len(closed)
        return len(closed)

    async def sweep_once(self) -> int:
        self.stats.runs += 1
        await self.close_aggregates()
        now = datetime.now(UTC)
        rows = await self._store.claim_stale_pending(
            self._worker, older_than=now - self._ttl, lock_ttl=self._ttl, limit=self._batch, now=now
        )
        held = self._engine.held()
        for row in rows:
            # A copy in flight or parked for aggregation in this process still gets its outcome from the
            # engine: the claim just renewed its lock (so the next batch moves on), settle the others.
            if row.id not in held:
                await self._settle(row)
        return len(rows)

    async def _recorded(self, row: PendingCopy) -> _Recorded:
        """The copy's signal's condition id and its signed order's limit and size from the store; tick
        size and neg-risk from the token's book (the engine's quote cache). A book that cannot be read
        leaves the venue's defaults (0.01, not neg-risk): a reconcile goes by the order's hash and the
        token, so they only describe the order."""
        order = await self._store.recorded_order(row)
        tick, neg_risk = DEFAULT_TICK, False
        try:
            book = await self._engine.pricer.book(row.asset)
            tick, neg_risk = book.tick_size, book.neg_risk
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("no book for a reconcile request; default tick", token=row.asset, error=str(exc))
        return _Recorded(order.condition_id, order.limit_micro, order.size_micro, tick, neg_risk)

    async def _settle(self, row: PendingCopy) -> None:
        guard = self._engine.guard
        # A BUY whose hold on the daily caps this process does not know (left by a process that stopped
        # or died, perhaps before it reserved): its counters are rebuilt from the store (guard.py),
        # dropped before it is settled (if that fails nothing is settled) and again after it.
        unknown_hold = row.side is Side.BUY and not guard.holds(row.id)
        if unknown_hold and not await guard.drop_counters(row.user_id, row.created_at):
            await self._store.release(row.id, self._worker)
            return
        stored = await self._store.config(row.config_id, row.config_version)
        result = None
        recorded: _Recorded | None = None
        if stored is not None:
            executor = self._executors.get(stored.config.custody)
            if executor is not None:
                try:
                    recorded = await self._recorded(row)
                    result = await executor.reconcile(_request(row, recorded))
                except Exception as exc:  # noqa: BLE001 - cannot tell now: try again next sweep
                    log.warning("reconcile failed; will retry", copy_trade=row.id, error=str(exc))
                    await self._store.release(row.id, self._worker)
                    return
        now = datetime.now(UTC)
        if result is not None and result.settles_later:  # the executor queued its settlement (PROXY)
            self.stats.reconciled += 1
            return
        if result is not None and result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL):
            fill = Fill(
                int(result.filled_shares * 1_000_000),
                int(result.avg_price * 1_000_000),
                int(result.fee * 1_000_000),
                result.venue_order_id or None,
            )
            if await self._store.reconcile_executed(row.id, fill, self._worker, now):
                self.stats.reconciled += 1
                await guard.settle_kept(row.id, spent=True)
                # the config's exposure and holding move as for a fill the engine saw itself, unless
                # the engine counted this fill already and only its outcome write failed
                if row.id in self._engine.counted_unwritten:
                    self._engine.counted_unwritten.discard(row.id)
                else:
                    self._engine.exposure.add(
                        row.config_id,
                        recorded.condition_id if recorded is not None else "",
                        row.side,
                        result.filled_shares * result.avg_price,
                        row.asset,
                        result.filled_shares,
                        user_id=row.user_id,
                    )
        else:
            self._engine.counted_unwritten.discard(row.id)  # settled either way: nothing to remember
            reason = "pending past its time-to-live; venue shows no fill"
            if await self._store.reconcile_expired(row.id, reason, self._worker, now):
                self.stats.expired += 1
                await guard.settle_kept(row.id, spent=False)  # what it kept of the caps goes back
        if unknown_hold:
            await guard.drop_counters(row.user_id, row.created_at)

    async def run(self) -> None:
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                while await self.sweep_once() >= self._batch:
                    pass
            except RetryableError as exc:  # e.g. the database is down: the next tick tries again
                log.warning("pending sweep failed; retrying next tick", error=str(exc)[:200])
            except Exception:  # noqa: BLE001 - a failed sweep is retried on the next tick
                log.exception("pending sweep failed")
            await asyncio.sleep(self._interval_s)
