"""Stage-by-stage latency: count, p50, p99 and max per pipeline stage, logged and exported.

Each stage keeps a ring of its most recent samples (bounded memory) for percentiles, plus a
Prometheus histogram for scraping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

STAGES = ("signal_to_submit", "prewrite", "guardrails", "pricing", "preflight", "execute", "persist", "total")
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class StageStats:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class _Ring:
    __slots__ = ("count", "max", "pos", "samples")

    def __init__(self, size: int) -> None:
        self.samples: list[float] = [0.0] * size
        self.pos = 0
        self.count = 0
        self.max = 0.0

    def add(self, value: float) -> None:
        self.samples[self.pos] = value
        self.pos = (self.pos + 1) % len(self.samples)
        self.count += 1
        if value > self.max:
            self.max = value

    def stats(self) -> StageStats:
        n = min(self.count, len(self.samples))
        if n == 0:
            return StageStats(0, 0.0, 0.0, 0.0)
        data = sorted(self.samples[:n])
        return StageStats(
            self.count, data[int(0.5 * (n - 1))] * 1000, data[int(0.99 * (n - 1))] * 1000, self.max * 1000
        )


class StageMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, ring_size: int = 4096) -> None:
        self._rings: dict[str, _Ring] = {}
        self._children: dict[str, Any] = {}  # the histogram's child per stage (labels() is not free)
        self._ring_size = ring_size
        self._hist = Histogram(
            "polyhunter_stage_seconds",
            "Copy pipeline stage latency",
            ["stage"],
            buckets=_BUCKETS,
            registry=registry if registry is not None else CollectorRegistry(auto_describe=True),
        )

    def observe(self, stage: str, seconds: float) -> None:
        ring = self._rings.get(stage)
        if ring is None:
            ring = self._rings[stage] = _Ring(self._ring_size)
            self._children[stage] = self._hist.labels(stage)
        ring.add(seconds)
        self._children[stage].observe(seconds)

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(stage, time.perf_counter() - start)

    def snapshot(self) -> dict[str, StageStats]:
        return {stage: ring.stats() for stage, ring in self._rings.items()}

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            stage: {
                "count": s.count,
                "p50_ms": round(s.p50_ms, 3),
                "p99_ms": round(s.p99_ms, 3),
                "max_ms": round(s.max_ms, 3),
            }
            for stage, s in self.snapshot().items()
        }
