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
from polyhunter.domain.signal import Signal, SourceKind, from_micro, signal_key
from polyhunter.log import get_logger

log = get_logger(__name__)

ConditionLookup = Callable[[str], str]
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
    return datetime.fromtimestamp(int(raw, 16), UTC)


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


def decode_leader_logs(
    logs: Iterable[Mapping[str, object]], leaders: frozenset[str]
) -> tuple[list[DecodedFill], int]:
    """Decode ``OrderFilled`` logs whose maker is a followed leader, in chain order. Returns (fills, errors)."""
    fills: list[DecodedFill] = []
    errors = 0
    for entry in logs:
        try:
            fill = decode_order_filled(entry)
        except LogDecodeError as exc:
            errors += 1
            log.warning("chain.log_undecodable", error=str(exc), tx=entry.get("transactionHash"))
            continue
        if fill.shares_micro == 0:
            errors += 1
            log.warning("chain.fill_without_shares", tx=fill.tx_hash, log_index=fill.log_index)
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
) -> list[ChainFill]:
    """Signals for decoded fills (in chain order), ordinals per identical leg within a transaction.

    Removed (re-orged) logs are numbered among the removed logs of their transaction, so a removed log gets
    the key its live twin had.
    """
    seen: Counter[tuple[bool, str, str, int, str, int]] = Counter()
    out: list[ChainFill] = []
    for fill in fills:
        identity = (fill.removed, fill.tx_hash, fill.maker, fill.token_id, str(fill.side), fill.shares_micro)
        ordinal = seen[identity]
        seen[identity] += 1
        header = headers.get(fill.block_number)
        if header is not None:
            fill_time = block_time(header)
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
