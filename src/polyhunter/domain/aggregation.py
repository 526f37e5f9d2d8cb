"""Aggregation of copies below the venue minimum until together they reach it, within a time window."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.domain.signal import Side

BucketKey = tuple[int, str, Side]  # (config id, token id, side)


@dataclass(slots=True)
class Bucket:
    shares: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    opened_at_ms: int = 0
    signal_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Released:
    shares: Decimal
    notional: Decimal
    signal_keys: tuple[str, ...]


class Aggregator:
    """Holds small copies per (config, token, side); releases them once the sum meets the minimum.

    A bucket older than the window is dropped (its copies end SKIPPED as below the venue minimum).
    """

    def __init__(self, window_ms: int) -> None:
        self._window_ms = window_ms
        self._buckets: dict[BucketKey, Bucket] = {}

    def add(
        self,
        key: BucketKey,
        signal_key: str,
        shares: Decimal,
        notional: Decimal,
        min_notional: Decimal,
        now_ms: int,
    ) -> Released | None:
        bucket = self._buckets.get(key)
        if bucket is None or now_ms - bucket.opened_at_ms > self._window_ms:
            bucket = Bucket(opened_at_ms=now_ms)
            self._buckets[key] = bucket
        bucket.shares += shares
        bucket.notional += notional
        bucket.signal_keys.append(signal_key)
        if bucket.notional >= min_notional:
            del self._buckets[key]
            return Released(bucket.shares, bucket.notional, tuple(bucket.signal_keys))
        return None

    def expire(self, now_ms: int, *, everything: bool = False) -> list[tuple[BucketKey, Bucket]]:
        """Buckets whose window passed without reaching the minimum (all of them at shutdown)."""
        dead = [
            (k, b)
            for k, b in self._buckets.items()
            if everything or now_ms - b.opened_at_ms > self._window_ms
        ]
        for key, _ in dead:
            del self._buckets[key]
        return dead

    def __len__(self) -> int:
        return len(self._buckets)
