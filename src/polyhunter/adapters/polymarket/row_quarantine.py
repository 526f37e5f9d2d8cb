"""Data API rows that fail validation are set aside before a batch is mapped, so one bad row neither
fails the batch nor holds a cursor back.

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
from polyhunter.adapters.polymarket.wire_data_api import DataActivity
from polyhunter.adapters.polymarket.wire_validation import (
    DEFAULT_BOUNDS,
    FillBounds,
    InvalidMessage,
    check_timestamp_s,
)

REJECTED_KEY_PREFIX = "rejected:"


@dataclass(frozen=True, slots=True)
class RejectedRow:
    row: DataActivity
    reason: str
    detail: str
    key: str  # "rejected:" + hash of the row: never equal to a signal key
    ts_s: int | None  # the row's timestamp when it is usable for a cursor (inside the window), else None
    repeat: bool  # already reported by this quarantine


def rejected_row_key(row: DataActivity) -> str:
    digest = hashlib.blake2b(msgspec.json.encode(row), digest_size=16).hexdigest()
    return REJECTED_KEY_PREFIX + digest


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

    def _reject(self, row: DataActivity, exc: InvalidMessage, seen_at: datetime) -> RejectedRow:
        key = rejected_row_key(row)
        repeat = key in self._reported
        if not repeat:
            self._reported[key] = None
            if len(self._reported) > self._memory:
                del self._reported[next(iter(self._reported))]
        # a row whose own time is out of the window must not move a cursor there (year 3000, or 0)
        try:
            ts_s: int | None = check_timestamp_s(row.timestamp, seen_at.timestamp(), self.bounds)
        except InvalidMessage:
            ts_s = None
        return RejectedRow(row, exc.reason, exc.detail, key, ts_s, repeat)
