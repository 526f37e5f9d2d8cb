"""Pure step of the CHAIN source: ``OrderFilled`` logs of followed leaders -> :class:`Signal` objects.

Keys are computed exactly as the RTDS and Data API paths do (``signal_key`` over tx hash, leader, token, side,
size in micro-shares and an ordinal): legs of one transaction identical in those five fields are numbered in
log order (0, 1, ...). A transaction lies in one block, and the source always processes whole blocks, so the
ordinals are complete. The taker leg (``taker`` == exchange) is an ordinary ``OrderFilled`` of the taker's
funder; ``OrdersMatched`` is never requested, so a taker fill is counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.adapters.chain.exchange_events import DecodedFill, LogDecodeError, decode_order_filled
from polyhunter.adapters.polymarket.wire_validation import (
    DEFAULT_BOUNDS,
    TIMESTAMP_OUT_OF_WINDOW,
    FillBounds,
    InvalidMessage,
)
from polyhunter.domain.signal import Signal, SourceKind, from_micro, signal_key
from polyhunter.log import get_logger

log = get_logger(__name__)

ConditionLookup = Callable[[str], str]
OnReject = Callable[[InvalidMessage, Mapping[str, object]], None]  # (error, the log), counted by the source
_UNKNOWN_TIME = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True, slots=True)
class ChainFill:
    """A leader fill read from a log, with the signal it becomes."""

    signal: Signal
    block_number: int
    block_hash: str
    log_index: int
    taker_leg: bool
    removed: bool


def block_time(header: Mapping[str, object]) -> datetime:
    raw = header.get("timestamp")
    if not isinstance(raw, str):
        raise LogDecodeError(f"block header without timestamp: {header.get('number')}")
    try:
        return datetime.fromtimestamp(int(raw, 16), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise LogDecodeError(f"block timestamp {raw[:40]!r}", TIMESTAMP_OUT_OF_WINDOW) from exc


def _check_block_time(fill_time: datetime, seen_at: datetime, bounds: FillBounds) -> None:
    """A block is not from the future (past the clock skew); old blocks are the replay's business."""
    if (fill_time - seen_at).total_seconds() > bounds.max_future_s:
        raise LogDecodeError(f"block time {fill_time.isoformat()}", TIMESTAMP_OUT_OF_WINDOW)


def fill_signal(
    fill: DecodedFill, ordinal: int, fill_time: datetime, seen_at: datetime, condition_id: str = ""
) -> Signal:
    asset = str(fill.token_id)
    return Signal(
        key=signal_key(fill.tx_hash, fill.maker, asset, fill.side, fill.shares_micro, ordinal),
        leader=fill.maker,
        asset=asset,
        condition_id=condition_id,
        side=fill.side,
        size=from_micro(fill.shares_micro),
        price=Decimal(fill.usdc_micro) / Decimal(fill.shares_micro),
        tx_hash=fill.tx_hash,
        fill_time=fill_time,
        seen_at=seen_at,
        source=SourceKind.CHAIN,
    )


def _log_reject(exc: InvalidMessage, entry: Mapping[str, object]) -> None:
    log.warning("chain.log_undecodable", error=str(exc), tx=str(entry.get("transactionHash"))[:80])


def decode_leader_logs(
    logs: Iterable[Mapping[str, object]], leaders: frozenset[str], on_reject: OnReject = _log_reject
) -> tuple[list[DecodedFill], int]:
    """Decode ``OrderFilled`` logs whose maker is a followed leader, in chain order. Returns (fills, errors).

    A log that fails decoding or validation (no shares, a price outside (0, 1), a bad hash...) is handed
    to ``on_reject`` and dropped.
    """
    fills: list[DecodedFill] = []
    errors = 0
    for entry in logs:
        try:
            fill = decode_order_filled(entry)
        except InvalidMessage as exc:
            errors += 1
            on_reject(exc, entry)
            continue
        if fill.maker in leaders:
            fills.append(fill)
    fills.sort(key=lambda f: (f.block_number, f.log_index))
    return fills, errors


def fills_to_signals(
    fills: Iterable[DecodedFill],
    headers: Mapping[int, Mapping[str, object]],
    seen_at: datetime,
    condition_for: ConditionLookup | None = None,
    on_reject: OnReject = _log_reject,
    bounds: FillBounds = DEFAULT_BOUNDS,
) -> list[ChainFill]:
    """Signals for decoded fills (in chain order), ordinals per identical leg within a transaction.

    Removed (re-orged) logs are numbered among the removed logs of their transaction, so a removed log gets
    the key its live twin had. A fill whose block time is unreadable or in the future goes to ``on_reject``.
    """
    seen: Counter[tuple[bool, str, str, int, str, int]] = Counter()
    out: list[ChainFill] = []
    for fill in fills:
        identity = (fill.removed, fill.tx_hash, fill.maker, fill.token_id, str(fill.side), fill.shares_micro)
        ordinal = seen[identity]
        seen[identity] += 1
        header = headers.get(fill.block_number)
        if header is not None:
            try:
                fill_time = block_time(header)
                _check_block_time(fill_time, seen_at, bounds)
            except InvalidMessage as exc:
                on_reject(exc, {"transactionHash": fill.tx_hash, "blockNumber": fill.block_number})
                continue
        elif fill.removed:
            fill_time = _UNKNOWN_TIME  # a removed log's block may be gone; it is only matched by key
        else:
            raise LogDecodeError(f"no header for block {fill.block_number}")
        condition = condition_for(str(fill.token_id)) if condition_for is not None else ""
        out.append(
            ChainFill(
                signal=fill_signal(fill, ordinal, fill_time, seen_at, condition),
                block_number=fill.block_number,
                block_hash=fill.block_hash,
                log_index=fill.log_index,
                taker_leg=fill.is_taker_leg,
                removed=fill.removed,
            )
        )
    return out
