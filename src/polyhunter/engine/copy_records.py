"""What the copy engine reports about finished copies: the outcome rows it persists, the per-copy
record for the demo view and summaries, and its running counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal, to_micro
from polyhunter.domain.sizing import SizeDecision
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.guard import Reservation
from polyhunter.ports.store import GuardrailEventRow, Outcome, StoredConfig

EXECUTED = CopyTradeState.EXECUTED


@dataclass(slots=True)
class CopyRecord:
    """What the engine reports about one finished copy (for the demo view and summaries)."""

    signal_key: str
    config_id: int
    user_id: int
    state: CopyTradeState
    reason: str | None
    side: Side
    token_id: str
    shares: Decimal
    price: Decimal
    leader_price: Decimal
    slippage_ticks: Decimal | None
    signal_to_submit_ms: float | None  # when an order was submitted for it (None: nothing was sent)
    at: datetime


@dataclass(slots=True)
class EngineStats:
    signals: int = 0
    copies: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0  # copies another process (or an earlier run) had already prewritten
    duplicate_signals: int = 0  # signals already recorded: nothing done for them
    unknown: int = 0
    paused: int = 0  # configs this process paused (an operator-needed error while handling them)


@dataclass(slots=True)
class CopyWork:
    """One prewritten copy on its way through the stages; `outcomes` is shared by the signal's copies."""

    signal: Signal
    stored: StoredConfig
    trade_id: int
    size: SizeDecision
    outcomes: list[Outcome]
    events: list[GuardrailEventRow]
    sent: bool = False  # an order went to an executor (its `orders` row, if any, gets the outcome)
    reservation: Reservation | None = None  # what it holds of the daily caps (BUY notional)
    signal_to_submit_s: float | None = None  # from the signal's arrival to its (first) order's submit
    prewritten_at: datetime | None = None  # when its row was prewritten (the store counts it from then)
    counted: bool = False  # its fill moved the config's exposure in this process


class CopyReporter:
    """Turns a finished copy into its outcome row, its counter and (if wanted) a `CopyRecord`."""

    def __init__(self, stats: EngineStats, on_copy: Callable[[CopyRecord], None] | None) -> None:
        self.stats = stats
        self._on_copy = on_copy

    def finish(
        self,
        work: CopyWork,
        state: CopyTradeState,
        *,
        reason: str | None = None,
        error: str | None = None,
        filled: tuple[Decimal, Decimal, Decimal] | None = None,
        order_id: str | None = None,
        tick: Decimal | None = None,
        notional: Decimal | None = None,
    ) -> None:
        """`notional`: the exact USDC of the fill (fee excluded), when the executor knows it."""
        shares, price, fee = filled if filled else (Decimal(0), Decimal(0), Decimal(0))
        work.outcomes.append(
            Outcome(
                work.trade_id,
                state,
                reason=reason,
                error=error,
                filled_size_micro=to_micro(shares) if filled else None,
                filled_price_micro=to_micro(price) if filled else None,
                fees_micro=to_micro(fee) if filled else None,
                venue_order_id=order_id,
                order_sent=work.sent,
                filled_notional_micro=to_micro(notional) if filled and notional is not None else None,
            )
        )
        slip = None
        if filled and tick and price > 0:
            move = price - work.signal.price if work.signal.side is Side.BUY else work.signal.price - price
            slip = move / tick
        to_submit = work.signal_to_submit_s * 1000 if work.signal_to_submit_s is not None else None
        self.report(work.signal, work.stored, state, reason or error, shares, price, slip, to_submit)

    def report(
        self,
        signal: Signal,
        stored: StoredConfig,
        state: CopyTradeState,
        reason: str | None,
        shares: Decimal,
        price: Decimal,
        slippage_ticks: Decimal | None,
        signal_to_submit_ms: float | None = None,
    ) -> None:
        self.stats.copies[f"{state}:{reason}" if state is not EXECUTED and reason else str(state)] += 1
        if self._on_copy is None:
            return
        now = datetime.now(UTC)
        self._on_copy(
            CopyRecord(
                signal_key=signal.key,
                config_id=stored.config.id,
                user_id=stored.config.user_id,
                state=state,
                reason=reason,
                side=signal.side,
                token_id=signal.asset,
                shares=shares,
                price=price,
                leader_price=signal.price,
                slippage_ticks=slippage_ticks,
                signal_to_submit_ms=signal_to_submit_ms,
                at=now,
            )
        )
