"""A map of the most recent entries: the executors remember what they sent for reconciliation, which
happens within a copy's PENDING time-to-live; older entries are forgotten so memory stays flat.

Bounded two ways: at most `max_entries`, and (when `max_age_s` is set) nothing older than that, so a
long run's memory stops growing once the age window is full rather than when the count is reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 10_000  # far more copies than reach reconciliation within a PENDING TTL


class RecentMap(Generic[K, V]):
    __slots__ = ("_clock", "_data", "_max", "_max_age_s")

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if max_age_s is not None and max_age_s <= 0:
            raise ValueError("max_age_s must be positive")
        self._data: dict[K, tuple[float, V]] = {}
        self._max = max_entries
        self._max_age_s = max_age_s
        self._clock = clock

    def __setitem__(self, key: K, value: V) -> None:
        now = self._clock()
        self._data.pop(key, None)  # a re-set entry becomes the newest
        self._data[key] = (now, value)
        if len(self._data) > self._max:
            del self._data[next(iter(self._data))]
        if self._max_age_s is not None:
            horizon = now - self._max_age_s
            while True:  # oldest first: insertion order is time order
                oldest = next(iter(self._data))
                if self._data[oldest][0] >= horizon:
                    break
                del self._data[oldest]

    def get(self, key: K) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if self._max_age_s is not None and entry[0] < self._clock() - self._max_age_s:
            return None
        return entry[1]

    def __len__(self) -> int:
        return len(self._data)
