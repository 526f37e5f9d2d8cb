"""A map of the most recent entries: the executors remember what they sent for reconciliation, which
happens within a copy's PENDING time-to-live; older entries are forgotten so memory stays flat."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 10_000  # far more copies than reach reconciliation within a PENDING TTL


class RecentMap(Generic[K, V]):
    __slots__ = ("_data", "_max")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._data: dict[K, V] = {}
        self._max = max_entries

    def __setitem__(self, key: K, value: V) -> None:
        self._data.pop(key, None)  # a re-set entry becomes the newest
        self._data[key] = value
        if len(self._data) > self._max:
            del self._data[next(iter(self._data))]

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def __len__(self) -> int:
        return len(self._data)
