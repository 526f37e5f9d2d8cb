"""Map venue fills (RTDS activity frames, Data API trade/activity rows) to domain `Signal`s.

Pure: the receipt time ``seen_at`` is passed in, nothing here reads a clock. Addresses and hashes
are lower-cased; sizes become integer micro-shares for the key (see ``polyhunter.domain.signal``).

Ordinals: legs of one transaction that agree in (tx, leader, asset, side, size) are numbered in the
order the source lists them. A Data API page is numbered as a batch (:func:`signals_from_data_trades`,
:func:`signals_from_activity`); a push stream keeps a :class:`LegOrdinals` across frames so that the
second identical leg arriving in its own frame gets ordinal 1. RTDS sends one frame per fill on a
connection, but ``orders_matched`` repeats the ``trades`` fills and a second (or reconnected)
connection repeats what the first one saw, so each (``connection_id``, frame type) is numbered in its
own domain (:func:`ordinal_domain`): repeats across domains map to the same keys and are deduplicated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.adapters.polymarket.wire_base import SideWire
from polyhunter.adapters.polymarket.wire_data_api import DataActivity, DataTrade
from polyhunter.adapters.polymarket.wire_rtds import RtdsActivityFrame, RtdsTradePayload
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key, to_micro

LegId = tuple[str, str, str, Side, int]  # (tx, leader, asset, side, size_micro), all normalized


class UnknownSide(ValueError):
    """A venue side string outside BUY/SELL on a fill."""


def map_side(side: str) -> Side:
    match side:
        case "BUY":
            return Side.BUY
        case "SELL":
            return Side.SELL
        case _:
            raise UnknownSide(f"unknown fill side {side!r}")


class LegOrdinals:
    """Counts identical legs per transaction; bounded by count and, for a long-running stream, by age.

    A transaction's legs arrive within about a second of each other, so a leg needs remembering only
    briefly. ``max_age_s`` (default: none, for one batch of rows) keeps two generations of at least that
    age and drops older ones whole: memory stays flat at a few minutes of a stream's legs. ``max_legs``
    caps it in any case (the oldest quarter is dropped when it is exceeded).
    """

    __slots__ = ("_clock", "_counts", "_max", "_max_age_s", "_previous", "_rotated_at")

    def __init__(
        self,
        max_legs: int = 8_192,
        *,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counts: dict[LegId, int] = {}
        self._previous: dict[LegId, int] = {}
        self._max = max_legs
        self._max_age_s = max_age_s
        self._clock = clock
        self._rotated_at = clock() if max_age_s is not None else 0.0

    def next(self, leg: LegId) -> int:
        if self._max_age_s is not None:
            now = self._clock()
            if now - self._rotated_at >= self._max_age_s:
                self._previous, self._counts, self._rotated_at = self._counts, {}, now
        counts = self._counts
        n = counts.get(leg)
        if n is None:
            n = self._previous.get(leg, 0)
        counts[leg] = n + 1
        if len(counts) > self._max:
            # dicts keep insertion order: drop the oldest quarter in one sweep
            for old in list(counts)[: self._max // 4]:
                del counts[old]
        return n

    def __len__(self) -> int:
        return len(self._counts) + len(self._previous)


def _fill_time(ts_s: int) -> datetime:
    return datetime.fromtimestamp(ts_s, UTC)


def _leg(tx_hash: str, wallet: str, asset: str, side: SideWire | str, size: Decimal) -> LegId:
    return (tx_hash.lower(), wallet.lower(), asset, map_side(side), to_micro(size))


def _signal(
    leg: LegId,
    ordinal: int,
    *,
    condition_id: str,
    price: Decimal,
    ts_s: int,
    seen_at: datetime,
    source: SourceKind,
    slug: str | None,
    outcome: str | None,
    size: Decimal,
) -> Signal:
    tx, leader, asset, side, size_micro = leg
    return Signal(
        key=signal_key(tx, leader, asset, side, size_micro, ordinal),
        leader=leader,
        asset=asset,
        condition_id=condition_id.lower(),
        side=side,
        size=size,
        price=price,
        tx_hash=tx,
        fill_time=_fill_time(ts_s),
        seen_at=seen_at,
        source=source,
        slug=slug or "",
        outcome=outcome or "",
    )


def _rtds_signal(
    payload: RtdsTradePayload, leg: LegId, ordinal: int, seen_at: datetime, source: SourceKind
) -> Signal:
    return _signal(
        leg,
        ordinal,
        condition_id=payload.condition_id,
        price=payload.price,
        ts_s=payload.timestamp,
        seen_at=seen_at,
        source=source,
        slug=payload.slug,
        outcome=payload.outcome,
        size=payload.size,
    )


def rtds_leg(payload: RtdsTradePayload) -> LegId:
    return _leg(payload.transaction_hash, payload.proxy_wallet, payload.asset, payload.side, payload.size)


def signal_from_rtds_frame(frame: RtdsActivityFrame, seen_at: datetime, ordinals: LegOrdinals) -> Signal:
    """One RTDS activity frame; ``ordinals`` is the counter of the frame's :func:`ordinal_domain`."""
    leg = rtds_leg(frame.payload)
    return _rtds_signal(frame.payload, leg, ordinals.next(leg), seen_at, SourceKind.WS)


def ordinal_domain(frame: RtdsActivityFrame) -> tuple[str, str]:
    """The stream within which identical legs are numbered: (connection id, frame type)."""
    return (frame.connection_id or "", frame.type)


def signals_from_data_trades(rows: Sequence[DataTrade], seen_at: datetime) -> list[Signal]:
    """``GET /trades`` rows (one page or several pages of one poll) as signals, ordinals per batch."""
    ordinals = LegOrdinals(max_legs=max(len(rows), 1) * 2)
    out: list[Signal] = []
    for row in rows:
        leg = _leg(row.transaction_hash, row.proxy_wallet, row.asset, row.side, row.size)
        out.append(
            _signal(
                leg,
                ordinals.next(leg),
                condition_id=row.condition_id,
                price=row.price,
                ts_s=row.timestamp,
                seen_at=seen_at,
                source=SourceKind.POLL,
                slug=row.slug,
                outcome=row.outcome,
                size=row.size,
            )
        )
    return out


def signals_from_activity(rows: Sequence[DataActivity], seen_at: datetime) -> list[Signal]:
    """``GET /activity`` rows: TRADE rows become signals (ordinals per batch); others are skipped."""
    ordinals = LegOrdinals(max_legs=max(len(rows), 1) * 2)
    out: list[Signal] = []
    for row in rows:
        if row.type != "TRADE":
            continue
        leg = _leg(row.transaction_hash, row.proxy_wallet, row.asset, row.side, row.size)
        out.append(
            _signal(
                leg,
                ordinals.next(leg),
                condition_id=row.condition_id,
                price=row.price,
                ts_s=row.timestamp,
                seen_at=seen_at,
                source=SourceKind.POLL,
                slug=row.slug,
                outcome=row.outcome,
                size=row.size,
            )
        )
    return out
