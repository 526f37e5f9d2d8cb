"""The stage histogram a scrape sees is the one prometheus_client's own Histogram would export for the
same observations (buckets are `le`, cumulative; count and sum), while percentiles come from the ring."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from polyhunter.engine.stage_metrics import _BUCKETS, StageMetrics


def _lines(registry: CollectorRegistry) -> set[str]:
    text = generate_latest(registry).decode()
    return {line for line in text.splitlines() if line.startswith("polyhunter_stage_seconds")}


def test_export_equals_a_prometheus_histogram() -> None:
    ours_registry, ref_registry = CollectorRegistry(), CollectorRegistry()
    metrics = StageMetrics(ours_registry)
    reference = Histogram(
        "polyhunter_stage_seconds", "ref", ["stage"], buckets=_BUCKETS, registry=ref_registry
    )
    rng = random.Random(7)
    values = [rng.choice([0.0, 0.001, 0.0005, 10.0, 11.0]) for _ in range(50)]  # bucket bounds too
    values += [rng.expovariate(200) for _ in range(2000)]
    for i, value in enumerate(values):
        stage = "pricing" if i % 3 else "prewrite"
        metrics.observe(stage, value)
        reference.labels(stage).observe(value)
    ours, ref = _lines(ours_registry), _lines(ref_registry)
    assert {line for line in ours if "_bucket" in line or "_count" in line} == {
        line for line in ref if "_bucket" in line or "_count" in line
    }

    def sums(lines: set[str]) -> dict[str, float]:
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines if "_sum" in line}

    ours_sums, ref_sums = sums(ours), sums(ref)
    assert ours_sums.keys() == ref_sums.keys()
    assert len(ref_sums) == 2
    for key, value in ref_sums.items():
        assert abs(ours_sums[key] - value) < 1e-9
    assert metrics.snapshot()["pricing"].count == sum(1 for i in range(len(values)) if i % 3)
