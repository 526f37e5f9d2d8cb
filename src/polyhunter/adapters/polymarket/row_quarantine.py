"""Data API rows that fail validation are set aside before a batch is mapped, so one bad row neither
fails the batch nor holds a cursor back. Rows that did not even decode (``ActivityPage.undecodable``)
are set aside the same way, with reason ``schema``.

:meth:`RowQuarantine.split` returns the good rows and the rejected ones. A rejected row carries a
stable ``key`` (a hash of the row as served) and its timestamp when that is inside the fill window, so a
cursor can move past it like past an emitted fill. Rows are re-read after a restart or while the cursor
has not passed them: the quarantine remembers the keys it has already reported (bounded) and marks
those ``repeat``, so a row is counted once, not once per poll round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from polyhunter.adapters.polymarket.parse_signals import check_activity_row
from polyhunter.adapters.polymarket.wire_data_api import DataActivity, UndecodableRow
from polyhunter.adapters.polymarket.wire_validation import (
    DEFAULT_BOUNDS,
    SCHEMA,
    FillBounds,
    InvalidMessage,
    check_timestamp_s,
)

REJECTED_KEY_PREFIX = "rejected:"


@dataclass(frozen=True, slots=True)
class RejectedRow:
    tx: str  # the row's transaction hash as served (for the log line), "" when unreadable
    reason: str
    detail: str
    key: str  # "rejected:" + hash of the row: never equal to a signal key
    ts_s: int | None  # the row's timestamp when it is usable for a cursor (inside the window), else None
    repeat: bool  # already reported by this quarantine


def rejected_row_key(row: DataActivity | bytes) -> str:
    raw = row if isinstance(row, bytes) else msgspec.json.encode(row)
    return REJECTED_KEY_PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()


class RowQuarantine:
    def __init__(self, bounds: FillBounds = DEFAULT_BOUNDS, memory: int = 4_096) -> None:
        self.bounds = bounds
        self._memory = memory
        self._reported: dict[str, None] = {}  # insertion-ordered: the oldest are forgotten first

    def split(
        self, rows: Sequence[DataActivity], seen_at: datetime
    ) -> tuple[list[DataActivity], list[RejectedRow]]:
        good: list[DataActivity] = []
        rejected: list[RejectedRow] = []
        for row in rows:
            try:
                check_activity_row(row, seen_at, self.bounds)
            except InvalidMessage as exc:
                rejected.append(self._reject(row, exc, seen_at))
            else:
                good.append(row)
        return good, rejected

    def undecodable(self, rows: Sequence[UndecodableRow], seen_at: datetime) -> list[RejectedRow]:
        """Rows of a page that were JSON but not activity rows (``schema``), as rejected rows."""
        out: list[RejectedRow] = []
        for bad in rows:
            key = rejected_row_key(bad.raw)
            ts_s = self._cursor_ts(bad.timestamp, seen_at)
            out.append(RejectedRow("", SCHEMA, bad.error, key, ts_s, self._seen(key)))
        return out

    def _reject(self, row: DataActivity, exc: InvalidMessage, seen_at: datetime) -> RejectedRow:
        key = rejected_row_key(row)
        ts_s = self._cursor_ts(row.timestamp, seen_at)
        return RejectedRow(row.transaction_hash[:80], exc.reason, exc.detail, key, ts_s, self._seen(key))

    def _seen(self, key: str) -> bool:
        """Whether ``key`` was reported before (and remember it)."""
        if key in self._reported:
            return True
        self._reported[key] = None
        if len(self._reported) > self._memory:
            del self._reported[next(iter(self._reported))]
        return False

    def _cursor_ts(self, ts_s: int | None, seen_at: datetime) -> int | None:
        """A rejected row's time if a cursor may move there: not out of the window (year 3000, or 0)."""
        if ts_s is None:
            return None
        try:
            return check_timestamp_s(ts_s, seen_at.timestamp(), self.bounds)
        except InvalidMessage:
            return None
