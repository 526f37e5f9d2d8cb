"""Stage-by-stage latency: count, p50, p99 and max per pipeline stage, logged and exported.

Each stage keeps a ring of its most recent samples (bounded memory) for percentiles, plus cumulative
histogram buckets that a Prometheus collector reads at scrape time (`polyhunter_stage_seconds`): an
observation is a ring write and one bucket increment (a prometheus_client Histogram costs several
microseconds per observe, five per copy, which a 10,000-config fan-out pays 50,000 times).
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

STAGES = ("signal_to_submit", "prewrite", "guardrails", "pricing", "preflight", "execute", "persist", "total")
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class StageStats:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class _Ring:
    __slots__ = ("buckets", "count", "max", "pos", "samples", "total")

    def __init__(self, size: int) -> None:
        self.samples = array("d", bytes(8 * size))  # preallocated doubles: no object per sample
        self.pos = 0
        self.count = 0
        self.max = 0.0
        self.total = 0.0
        self.buckets = [0] * (len(_BUCKETS) + 1)  # per bucket (the last is +Inf), not cumulative

    def add(self, value: float) -> None:
        self.samples[self.pos] = value
        self.pos = (self.pos + 1) % len(self.samples)
        self.count += 1
        self.total += value
        self.buckets[bisect_left(_BUCKETS, value)] += 1
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


class _StageCollector(Collector):
    def __init__(self, rings: dict[str, _Ring]) -> None:
        self._rings = rings

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "polyhunter_stage_seconds", "Copy pipeline stage latency", labels=["stage"]
        )
        for stage, ring in list(self._rings.items()):
            running, cumulative = 0, []
            for bound, n in zip((*_BUCKETS, float("inf")), ring.buckets, strict=True):
                running += n
                cumulative.append((repr(bound) if bound != float("inf") else "+Inf", running))
            family.add_metric([stage], cumulative, ring.total)
        yield family


class StageMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, ring_size: int = 4096) -> None:
        self._rings: dict[str, _Ring] = {}
        self._ring_size = ring_size
        (registry if registry is not None else CollectorRegistry(auto_describe=True)).register(
            _StageCollector(self._rings)
        )

    def observe(self, stage: str, seconds: float) -> None:
        ring = self._rings.get(stage)
        if ring is None:
            ring = self._rings[stage] = _Ring(self._ring_size)
        ring.add(seconds)

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
