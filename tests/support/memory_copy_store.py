"""An in-memory `CopyStore` (ports/store.py) for unit tests: the semantics of `SqlCopyStore` without a
database (UNIQUE (signal key, config id), compare-and-set on PENDING, claims with `locked_by`), checked
against it by tests/integration/store/test_copy_store_contract.py."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import SPENDING_STATES, CopyTradeState, OrderStatus
from polyhunter.ports.store import (
    ExecutedTotals,
    Fill,
    GuardrailEventRow,
    NewCopy,
    Outcome,
    PendingCopy,
    RecordedOrder,
    StoredConfig,
    StoreUnavailableError,
)

PENDING = CopyTradeState.PENDING
MICRO = Decimal(1_000_000)


@dataclass(slots=True)
class CopyRow:
    id: int
    signal_key: str
    copy: NewCopy
    created_at: datetime
    state: CopyTradeState
    reason: str | None
    locked_at: datetime | None
    locked_by: str | None
    error: str | None = None
    filled_size_micro: int | None = None
    filled_price_micro: int | None = None
    fees_micro: int | None = None
    venue_order_id: str | None = None
    executed_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(slots=True)
class OrderRow:
    venue_order_id: str
    price_micro: int
    size_micro: int
    status: OrderStatus = OrderStatus.SUBMITTING


class MemoryCopyStore:
    def __init__(self) -> None:
        self.configs: dict[int, dict[int, StoredConfig]] = {}  # config id -> version -> config
        self.signals: dict[str, Signal] = {}
        self.copies: dict[int, CopyRow] = {}
        self.orders: dict[int, list[OrderRow]] = defaultdict(list)  # copy id -> its orders, oldest first
        self.events: list[GuardrailEventRow] = []
        self.paused: dict[int, tuple[datetime, str]] = {}  # config id -> (paused at, reason)
        self.fail_next = 0  # the next n units of work raise StoreUnavailableError (a dropped connection)
        self._by_key: dict[tuple[str, int], int] = {}
        self._next_id = 1

    # ---------------------------------------------------------------- set-up helpers (not the port)

    def add_config(self, stored: StoredConfig) -> StoredConfig:
        """Store `stored` as a version of its config (id 0: the next free id, version 1)."""
        cfg = stored.config
        if cfg.id == 0:
            cfg = dataclasses.replace(cfg, id=max(self.configs, default=0) + 1, version=1)
        cfg = dataclasses.replace(cfg, leader=cfg.leader.lower())
        stored = dataclasses.replace(stored, config=cfg)
        self.configs.setdefault(cfg.id, {})[cfg.version] = stored
        return stored

    def add_order(self, copy_trade_id: int, venue_order_id: str, price_micro: int, size_micro: int) -> None:
        """An `orders` row as the order journal writes it before a submit (SUBMITTING)."""
        self.orders[copy_trade_id].append(OrderRow(venue_order_id, price_micro, size_micro))

    def state_of(self, copy_trade_id: int) -> CopyTradeState:
        return self.copies[copy_trade_id].state

    def _unit_of_work(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise StoreUnavailableError("connection lost (simulated)")

    # ---------------------------------------------------------------- configs

    def resume(self, config_id: int) -> bool:
        """Clear a pause (what `polyhunter config resume` does on the database)."""
        return self.paused.pop(config_id, None) is not None

    def _with_pause(self, stored: StoredConfig) -> StoredConfig:
        paused = self.paused.get(stored.config.id)
        return dataclasses.replace(stored, paused_reason=paused[1] if paused is not None else None)

    async def configs_for_leader(self, leader: str) -> list[StoredConfig]:
        current = [self.configs[i][max(self.configs[i])] for i in sorted(self.configs)]
        return [self._with_pause(s) for s in current if s.active and s.config.leader == leader.lower()]

    async def config(self, config_id: int, version: int) -> StoredConfig | None:
        found = self.configs.get(config_id, {}).get(version)
        return self._with_pause(found) if found is not None else None

    async def pause_config(self, config_id: int, reason: str, now: datetime) -> bool:
        self._unit_of_work()
        if config_id not in self.configs:
            return False
        self.paused.setdefault(config_id, (now, reason[:256]))
        return True

    # ---------------------------------------------------------------- hot path

    async def prewrite(
        self,
        signal: Signal,
        copies: Sequence[NewCopy],
        worker: str,
        now: datetime,
        *,
        record_signal: bool = True,
    ) -> dict[int, int] | None:
        self._unit_of_work()
        if record_signal:
            if signal.key in self.signals:
                return None
            self.signals[signal.key] = signal
        created: dict[int, int] = {}
        for c in copies:
            if (signal.key, c.config_id) in self._by_key:
                continue
            trade_id = self._next_id
            self._next_id += 1
            pending = c.state is PENDING
            self.copies[trade_id] = CopyRow(
                trade_id,
                signal.key,
                c,
                now,
                c.state,
                c.reason,
                now if pending else None,
                worker if pending else None,
            )
            self._by_key[(signal.key, c.config_id)] = trade_id
            created[c.config_id] = trade_id
        return created

    def _finish(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        for o in outcomes:
            row = self.copies.get(o.copy_trade_id)
            if row is None or row.state is not PENDING:
                continue
            row.state, row.reason, row.error = o.state, o.reason[:128] if o.reason else None, o.error
            row.filled_size_micro, row.filled_price_micro = o.filled_size_micro, o.filled_price_micro
            row.fees_micro, row.venue_order_id = o.fees_micro, o.venue_order_id
            row.executed_at = now if o.state is CopyTradeState.EXECUTED else None
            row.ended_at = now
            row.locked_at = row.locked_by = None

    def _finish_orders(self, outcomes: Sequence[Outcome], unfilled: OrderStatus) -> None:
        for o in outcomes:
            if not o.order_sent:
                continue
            for order in self.orders.get(o.copy_trade_id, []):
                if o.state is CopyTradeState.EXECUTED and o.venue_order_id == order.venue_order_id:
                    order.status = OrderStatus.MATCHED
                elif order.status is OrderStatus.SUBMITTING:
                    order.status = unfilled

    async def write_outcomes(
        self, outcomes: Sequence[Outcome], events: Sequence[GuardrailEventRow], now: datetime
    ) -> None:
        if not outcomes and not events:
            return
        self._unit_of_work()
        self._finish(outcomes, now)
        self._finish_orders(outcomes, OrderStatus.REJECTED)
        self.events.extend(events)

    async def close_copies(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        if outcomes:
            self._unit_of_work()
            self._finish(outcomes, now)

    # ---------------------------------------------------------------- seeds at start

    async def executed_totals(self, users: Collection[int] | None = None) -> ExecutedTotals:
        usdc: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        shares: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        owners: dict[int, int] = {}
        for row in self.copies.values():
            signal = self.signals.get(row.signal_key)
            if row.state is not CopyTradeState.EXECUTED or row.filled_size_micro is None or signal is None:
                continue
            if users is not None and row.copy.user_id not in users:
                continue
            owners[row.copy.config_id] = row.copy.user_id
            sign = 1 if row.copy.side is Side.BUY else -1
            notional = row.filled_size_micro * (row.filled_price_micro or 0) // 1_000_000
            usdc[(row.copy.config_id, signal.condition_id)] += sign * Decimal(notional) / MICRO
            shares[(row.copy.config_id, row.copy.asset)] += sign * Decimal(row.filled_size_micro) / MICRO
        return ExecutedTotals(dict(usdc), dict(shares), owners)

    async def failing_configs(
        self, users: Collection[int], since: datetime, threshold: int
    ) -> dict[int, datetime]:
        ended = (CopyTradeState.EXECUTED, CopyTradeState.SETTLEMENT_PENDING, CopyTradeState.FAILED)
        last: dict[int, list[CopyRow]] = defaultdict(list)
        for row in self.copies.values():
            if row.copy.user_id in users and row.created_at >= since and row.state in ended:
                last[row.copy.config_id].append(row)
        out = {}
        for cid, rows in last.items():
            rows.sort(key=lambda r: (r.ended_at or r.created_at, r.id), reverse=True)
            recent = rows[:threshold]
            if len(recent) >= threshold and all(r.state is CopyTradeState.FAILED for r in recent):
                out[cid] = max(r.ended_at or r.created_at for r in recent)
        return out

    async def spent_today(self, now: datetime) -> dict[int, int]:
        day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spent: dict[int, int] = defaultdict(int)
        for row in self.copies.values():
            if (
                row.created_at < day_start
                or row.state not in SPENDING_STATES
                or row.copy.side is not Side.BUY
            ):
                continue
            if row.state is CopyTradeState.EXECUTED and row.filled_size_micro is not None:
                spent[row.copy.user_id] += row.filled_size_micro * (row.filled_price_micro or 0) // 1_000_000
            else:
                spent[row.copy.user_id] += row.copy.notional_micro
        return dict(spent)

    # ---------------------------------------------------------------- the PENDING sweep

    async def claim_stale_pending(
        self, worker: str, *, older_than: datetime, lock_ttl: timedelta, limit: int, now: datetime
    ) -> list[PendingCopy]:
        self._unit_of_work()
        stale = sorted(
            (
                r
                for r in self.copies.values()
                if r.state is PENDING
                and r.created_at < older_than
                and (r.locked_at is None or r.locked_at < now - lock_ttl)
            ),
            key=lambda r: (r.created_at, r.id),
        )[:limit]
        for row in stale:
            row.locked_at, row.locked_by = now, worker
        return [
            PendingCopy(
                r.id,
                r.signal_key,
                r.copy.config_id,
                r.copy.config_version,
                r.copy.user_id,
                r.copy.side,
                r.copy.asset,
                r.copy.size_micro,
                r.copy.price_micro,
                r.copy.notional_micro,
                r.created_at,
            )
            for r in stale
        ]

    async def release(self, copy_trade_id: int, worker: str) -> bool:
        row = self.copies.get(copy_trade_id)
        if row is None or row.locked_by != worker:
            return False
        row.locked_at = row.locked_by = None
        return True

    async def recorded_order(self, copy: PendingCopy) -> RecordedOrder:
        signal = self.signals.get(copy.signal_key)
        orders = self.orders.get(copy.id)
        last = orders[-1] if orders else None
        return RecordedOrder(
            signal.condition_id if signal is not None else "",
            last.price_micro if last is not None else None,
            last.size_micro if last is not None else None,
        )

    def _held_pending(
        self, copy_trade_id: int, worker: str, allowed: tuple[CopyTradeState, ...] = (PENDING,)
    ) -> CopyRow | None:
        row = self.copies.get(copy_trade_id)
        if row is None or row.state not in allowed or row.locked_by != worker:
            return None
        return row

    async def reconcile_executed(self, copy_trade_id: int, fill: Fill, worker: str, now: datetime) -> bool:
        self._unit_of_work()
        row = self._held_pending(copy_trade_id, worker, (PENDING, CopyTradeState.SETTLEMENT_PENDING))
        if row is None:
            return False
        row.state = CopyTradeState.EXECUTED
        row.filled_size_micro, row.filled_price_micro, row.fees_micro = (
            fill.size_micro,
            fill.price_micro,
            fill.fees_micro,
        )
        if fill.venue_order_id is not None:
            row.venue_order_id = fill.venue_order_id
        row.executed_at, row.locked_at, row.locked_by = now, None, None
        outcome = Outcome(
            copy_trade_id, CopyTradeState.EXECUTED, venue_order_id=fill.venue_order_id, order_sent=True
        )
        self._finish_orders([outcome], OrderStatus.REJECTED)
        return True

    async def reconcile_expired(self, copy_trade_id: int, reason: str, worker: str, now: datetime) -> bool:
        self._unit_of_work()
        row = self._held_pending(copy_trade_id, worker)
        if row is None:
            return False
        row.state, row.reason, row.locked_at, row.locked_by = CopyTradeState.EXPIRED, reason[:128], None, None
        self._finish_orders(
            [Outcome(copy_trade_id, CopyTradeState.EXPIRED, order_sent=True)], OrderStatus.UNMATCHED
        )
        return True
