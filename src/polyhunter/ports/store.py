"""The copy store: the unit of work the copy engine's hot path and its PENDING sweep need.

Everything the engine reads from or writes to the database goes through `CopyStore`: the configs of a
leader, the prewrite (the signal and its copies, atomically, exactly once per (signal, config)), the
batched outcomes, the seeds a supervisor starts from, and the sweep's claims and reconcile writes.
The data crossing the port (`NewCopy`, `Outcome`, `StoredConfig`, `PendingCopy`, ...) are plain
dataclasses; the one implementation is `polyhunter.store.copy_store.SqlCopyStore`.

A store raises `StoreUnavailableError` when its connection to the database was lost (the work may be
run again on a fresh one: the engine's writes are idempotent), and its own errors otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from polyhunter.domain.copy_config import CopyConfig
from polyhunter.domain.errors import RetryableError
from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import CopyTradeState


class StoreUnavailableError(RetryableError):
    """The database connection was lost (dropped by the server, a network cut): the unit of work did
    not happen and may be retried on a fresh connection."""


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """One version of a config as the engine uses it, with the wallet it trades from."""

    config: CopyConfig
    wallet_id: int | None
    active: bool
    paused_reason: str | None = None  # set: paused (operator-needed) until resumed; its copies are SKIPPED


@dataclass(frozen=True, slots=True)
class NewCopy:
    """A copy row the prewrite inserts: PENDING (to execute), or SKIPPED with its reason."""

    config_id: int
    config_version: int
    user_id: int
    side: Side
    asset: str
    size_micro: int
    price_micro: int
    notional_micro: int
    state: CopyTradeState = CopyTradeState.PENDING
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A copy's terminal state (written compare-and-set on PENDING)."""

    copy_trade_id: int
    state: CopyTradeState
    reason: str | None = None
    error: str | None = None
    filled_size_micro: int | None = None
    filled_price_micro: int | None = None
    fees_micro: int | None = None
    venue_order_id: str | None = None
    order_sent: bool = False
    filled_notional_micro: int | None = (
        None  # the exact USDC of the fill (fee excluded), if known  # the copy reached an executor: its `orders` rows take this outcome
    )


GuardrailEventRow = dict[
    str, Any
]  # rule, detail, user_id, config_id, config_version, signal_key, copy_trade_id


@dataclass(frozen=True, slots=True)
class PendingCopy:
    """A PENDING copy the sweep claimed: what it needs to reconcile and close it."""

    id: int
    signal_key: str
    config_id: int
    config_version: int
    user_id: int
    side: Side
    asset: str
    requested_size_micro: int
    requested_price_micro: int
    requested_notional_micro: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedOrder:
    """What the store knows of a PENDING copy's order: its signal's condition id ("" if not recorded)
    and its signed order's limit and size (None: no `orders` row was written)."""

    condition_id: str
    limit_micro: int | None
    size_micro: int | None


@dataclass(frozen=True, slots=True)
class Fill:
    """What the venue filled for a reconciled copy."""

    size_micro: int
    price_micro: int
    fees_micro: int = 0
    venue_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutedTotals:
    """Net filled USDC per (config id, condition id) and net filled shares per (config id, token) of
    EXECUTED copies (BUYs added, SELLs taken off; not clamped)."""

    usdc: dict[tuple[int, str], Decimal]
    shares: dict[tuple[int, str], Decimal]
    users: dict[int, int] = field(default_factory=dict)  # config id -> its follower


class CopyStore(Protocol):
    # ---------------------------------------------------------------- configs
    async def configs_for_leader(self, leader: str) -> list[StoredConfig]:
        """The active configs (current versions) following `leader`."""
        ...

    async def config(self, config_id: int, version: int) -> StoredConfig | None: ...

    async def pause_config(self, config_id: int, reason: str, now: datetime) -> bool:
        """Pause a config (an operator-needed error while handling it): its copies are SKIPPED
        `CONFIG_PAUSED` until an operator resumes it. Keeps the first reason if already paused; False if
        no such config."""
        ...

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
        """Record the signal and insert its copies atomically (PENDING ones locked by `worker`).
        None if the signal was recorded before (then nothing is written); else {config_id:
        copy_trade_id} for the copies created here (one already there for its (signal, config) is not
        returned). With `record_signal` False only the copies are inserted (never None)."""
        ...

    async def write_outcomes(
        self, outcomes: Sequence[Outcome], events: Sequence[GuardrailEventRow], now: datetime
    ) -> None:
        """One unit of work: terminal states (compare-and-set on PENDING), the results of the orders
        of the copies that reached an executor, and the guardrail events."""
        ...

    async def close_copies(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Terminal states only (compare-and-set on PENDING): parked copies the engine gave up on."""
        ...

    # ---------------------------------------------------------------- seeds at start
    async def executed_totals(self, users: Collection[int] | None = None) -> ExecutedTotals:
        """`users`: only these followers' configs (a partition a cluster worker takes); None: all."""
        ...

    async def failing_configs(
        self, users: Collection[int], since: datetime, threshold: int
    ) -> dict[int, datetime]:
        """Configs of these followers whose last `threshold` copies made since `since` that ended
        EXECUTED, SETTLEMENT_PENDING or FAILED all FAILED: {config id: when the last of them ended}
        (an open circuit breaker rebuilt from the store: engine/breakers.py)."""
        ...

    async def spent_today(self, now: datetime) -> dict[int, int]:
        """Micro-USDC each user's BUY copies committed since the start of `now`'s UTC day: PENDING,
        EXECUTED or SETTLEMENT_PENDING; EXECUTED by what it filled, the others by their request."""
        ...

    # ---------------------------------------------------------------- the PENDING sweep
    async def claim_stale_pending(
        self, worker: str, *, older_than: datetime, lock_ttl: timedelta, limit: int, now: datetime
    ) -> list[PendingCopy]:
        """Lock for `worker` the PENDING copies created before `older_than` that nobody holds (or whose
        lock is older than `lock_ttl`), oldest first; two workers never claim the same row."""
        ...

    async def release(self, copy_trade_id: int, worker: str) -> bool:
        """Give a claimed copy back without changing its state."""
        ...

    async def recorded_order(self, copy: PendingCopy) -> RecordedOrder: ...

    async def reconcile_executed(self, copy_trade_id: int, fill: Fill, worker: str, now: datetime) -> bool:
        """PENDING (held by `worker`) -> EXECUTED with the venue's fill, its order MATCHED; False if the
        row was no longer PENDING or no longer held by `worker`."""
        ...

    async def reconcile_expired(self, copy_trade_id: int, reason: str, worker: str, now: datetime) -> bool:
        """PENDING (held by `worker`) -> EXPIRED, its orders UNMATCHED; False as for reconcile_executed."""
        ...
