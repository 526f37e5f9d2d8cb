"""Map venue fills (RTDS activity frames, Data API trade/activity rows) to domain `Signal`s.

Pure: the receipt time ``seen_at`` is passed in, nothing here reads a clock. Addresses and hashes
are lower-cased; sizes become integer micro-shares for the key (see ``polyhunter.domain.signal``).

Every fill is checked against :mod:`wire_validation` before it becomes a signal (finite size and price,
price in (0, 1), size within bounds, fill time within a window of ``seen_at``, well-formed address,
hash, condition id and token id): a fill that fails raises :class:`InvalidMessage` (``UnknownSide`` is
one), nothing else. :func:`check_activity_row` lets a poller set such rows aside before a batch.

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
from typing import NamedTuple

from polyhunter.adapters.polymarket.wire_data_api import DataActivity, DataTrade
from polyhunter.adapters.polymarket.wire_rtds import RtdsActivityFrame
from polyhunter.adapters.polymarket.wire_validation import (
    ADDRESS_MATCH,
    BAD_ADDRESS,
    BAD_CONDITION_ID,
    BAD_SIDE,
    BAD_TOKEN_ID,
    BAD_TX_HASH,
    DEFAULT_BOUNDS,
    HASH_MATCH,
    MAX_PRICE,
    MIN_PRICE,
    MIN_SIZE_SHARES,
    OUTCOME_MAX_LEN,
    PRICE_NOT_FINITE,
    PRICE_OUT_OF_RANGE,
    SIZE_NOT_FINITE,
    SIZE_OUT_OF_RANGE,
    SLUG_MAX_LEN,
    TEXT_TOO_LONG,
    TIMESTAMP_OUT_OF_WINDOW,
    TOKEN_ID_MAX_DIGITS,
    UINT256_LIMIT,
    FillBounds,
    InvalidMessage,
)
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key, to_micro

LegId = tuple[str, str, str, Side, int]  # (tx, leader, asset, side, size_micro), all normalized
_SIDES: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}  # the wire decoders give a str


class UnknownSide(InvalidMessage):
    """A venue side string outside BUY/SELL on a fill."""

    def __init__(self, side: str) -> None:
        super().__init__(BAD_SIDE, f"unknown fill side {side!r}")


def map_side(side: str) -> Side:
    match side:
        case "BUY":
            return Side.BUY
        case "SELL":
            return Side.SELL
        case _:
            raise UnknownSide(side)


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


class CheckedFill(NamedTuple):
    """The fields of one venue fill, validated and normalized (lower-case address, hash, condition).

    A tuple, not a frozen dataclass: it is built once per followed fill on the push path, and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) cost a microsecond there."""

    tx_hash: str
    leader: str
    asset: str
    side: Side
    size: Decimal
    price: Decimal
    ts_s: int
    condition_id: str
    slug: str
    outcome: str
    size_micro: int

    @property
    def leg(self) -> LegId:
        return (self.tx_hash, self.leader, self.asset, self.side, self.size_micro)


def check_fill(  # noqa: C901 - the rules written out in a row, for speed (see below)
    tx_hash: str,
    wallet: str,
    asset: str,
    side: str,
    size: Decimal,
    price: Decimal,
    ts_s: int,
    condition_id: str,
    slug: str | None,
    outcome: str | None,
    seen_at: datetime,
    bounds: FillBounds = DEFAULT_BOUNDS,
) -> CheckedFill:
    """One fill's fields checked against what the venue can send; raises :class:`InvalidMessage`.

    The rules are those of ``wire_validation``'s ``check_tx_hash``, ``check_address``, ``check_token_id``,
    :func:`map_side`, ``check_size``, ``check_price``, ``check_timestamp_s``, ``check_condition_id`` and
    ``check_text``, applied in that order (the first that fails raises), with the same patterns, bounds and
    reasons: written out in one function because it runs for every followed fill on the push path, where
    ten calls (and twelve keywords) cost more than the checks themselves. ``test_check_fill_agrees_with_the_
    single_rules`` holds the two spellings together."""
    if HASH_MATCH(tx_hash) is None:
        raise InvalidMessage(BAD_TX_HASH, tx_hash[:80])
    if ADDRESS_MATCH(wallet) is None:
        raise InvalidMessage(BAD_ADDRESS, wallet[:80])
    if (
        not (0 < len(asset) <= TOKEN_ID_MAX_DIGITS and asset.isascii() and asset.encode().isdigit())
        or not asset.strip("0")
        or (len(asset) == TOKEN_ID_MAX_DIGITS and int(asset) >= UINT256_LIMIT)
    ):
        raise InvalidMessage(BAD_TOKEN_ID, asset[:80])
    mapped = _SIDES.get(side)
    if mapped is None:
        raise UnknownSide(side)
    if not size.is_finite():
        raise InvalidMessage(SIZE_NOT_FINITE, str(size))
    if not MIN_SIZE_SHARES <= size <= bounds.max_size:
        raise InvalidMessage(SIZE_OUT_OF_RANGE, str(size))
    if not price.is_finite():
        raise InvalidMessage(PRICE_NOT_FINITE, str(price))
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise InvalidMessage(PRICE_OUT_OF_RANGE, str(price))
    now_s = seen_at.timestamp()
    if not now_s - bounds.max_age_s <= ts_s <= now_s + bounds.max_future_s:
        raise InvalidMessage(TIMESTAMP_OUT_OF_WINDOW, str(ts_s))
    if HASH_MATCH(condition_id) is None:
        raise InvalidMessage(BAD_CONDITION_ID, condition_id[:80])
    slug = slug or ""
    if len(slug) > SLUG_MAX_LEN:
        raise InvalidMessage(TEXT_TOO_LONG, f"slug has {len(slug)} characters")
    outcome = outcome or ""
    if len(outcome) > OUTCOME_MAX_LEN:
        raise InvalidMessage(TEXT_TOO_LONG, f"outcome has {len(outcome)} characters")
    # positional: a NamedTuple built from keywords costs three times as much
    return CheckedFill(
        tx_hash.lower(),
        wallet.lower(),
        asset,
        mapped,
        size,
        price,
        ts_s,
        condition_id.lower(),
        slug,
        outcome,
        to_micro(size),
    )


def _signal(fill: CheckedFill, ordinals: LegOrdinals, seen_at: datetime, source: SourceKind) -> Signal:
    """The fill as a signal, its leg numbered in ``ordinals``."""
    tx, leader, asset, side, size, price, ts_s, condition_id, slug, outcome, size_micro = fill
    ordinal = ordinals.next((tx, leader, asset, side, size_micro))
    # positional, in Signal's field order: its frozen __init__ with thirteen keywords costs 3 us more a fill
    return Signal(
        signal_key(tx, leader, asset, side, size_micro, ordinal),  # key
        leader,
        asset,
        condition_id,
        side,
        size,
        price,
        tx,  # tx_hash
        datetime.fromtimestamp(ts_s, UTC),  # fill_time
        seen_at,
        source,
        slug,
        outcome,
    )


def check_data_row(
    row: DataTrade | DataActivity, seen_at: datetime, bounds: FillBounds = DEFAULT_BOUNDS
) -> CheckedFill:
    return check_fill(
        row.transaction_hash,
        row.proxy_wallet,
        row.asset,
        row.side,
        row.size,
        row.price,
        row.timestamp,
        row.condition_id,
        row.slug,
        row.outcome,
        seen_at,
        bounds,
    )


def check_activity_row(
    row: DataActivity, seen_at: datetime, bounds: FillBounds = DEFAULT_BOUNDS
) -> CheckedFill | None:
    """A TRADE row checked (raises :class:`InvalidMessage`); None for other activity (never a signal)."""
    if row.type != "TRADE":
        return None
    return check_data_row(row, seen_at, bounds)


def signal_from_rtds_frame(
    frame: RtdsActivityFrame,
    seen_at: datetime,
    ordinals: LegOrdinals,
    bounds: FillBounds = DEFAULT_BOUNDS,
) -> Signal:
    """One RTDS activity frame; ``ordinals`` is the counter of the frame's :func:`ordinal_domain`.

    Raises :class:`InvalidMessage` (before numbering the leg) for a fill the venue cannot have sent.
    """
    p = frame.payload
    fill = check_fill(
        p.transaction_hash,
        p.proxy_wallet,
        p.asset,
        p.side,
        p.size,
        p.price,
        p.timestamp,
        p.condition_id,
        p.slug,
        p.outcome,
        seen_at,
        bounds,
    )
    return _signal(fill, ordinals, seen_at, SourceKind.WS)


def ordinal_domain(frame: RtdsActivityFrame) -> tuple[str, str]:
    """The stream within which identical legs are numbered: (connection id, frame type)."""
    return (frame.connection_id or "", frame.type)


def _batch(fills: Sequence[CheckedFill], seen_at: datetime) -> list[Signal]:
    ordinals = LegOrdinals(max_legs=max(len(fills), 1) * 2)
    return [_signal(fill, ordinals, seen_at, SourceKind.POLL) for fill in fills]


def signals_from_data_trades(
    rows: Sequence[DataTrade], seen_at: datetime, bounds: FillBounds = DEFAULT_BOUNDS
) -> list[Signal]:
    """``GET /trades`` rows (one page or several pages of one poll) as signals, ordinals per batch.

    Raises :class:`InvalidMessage` for the first invalid row (set such rows aside first).
    """
    return _batch([check_data_row(row, seen_at, bounds) for row in rows], seen_at)


def signals_from_activity(
    rows: Sequence[DataActivity], seen_at: datetime, bounds: FillBounds = DEFAULT_BOUNDS
) -> list[Signal]:
    """``GET /activity`` rows: TRADE rows become signals (ordinals per batch); others are skipped.

    Raises :class:`InvalidMessage` for the first invalid TRADE row (see :func:`check_activity_row`).
    """
    fills = [fill for row in rows if (fill := check_activity_row(row, seen_at, bounds)) is not None]
    return _batch(fills, seen_at)
