"""The intake's backpressure in Prometheus, read at scrape time from `IntakePressure` (engine/intake.py).

polyhunter_engine_intake_occupancy        gauge: signals in the engine now
polyhunter_engine_intake_limit            gauge: engine.signals_in_flight
polyhunter_engine_intake_max_occupancy    gauge: the high-water mark since start
polyhunter_engine_intake_waiting          gauge: hand-overs waiting for a slot now
polyhunter_engine_backpressure_wait_seconds  histogram: how long each waiting hand-over waited
                                             (its _sum is the total time sources were held)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from polyhunter.engine.intake import WAIT_BUCKETS, IntakePressure

PushWait = Callable[[], tuple[int, float]]  # (times the push reader was held, seconds in all)


class IntakeCollector(Collector):
    def __init__(self, pressure: IntakePressure, push_wait: PushWait | None = None) -> None:
        self._p = pressure
        self._push_wait = push_wait

    def collect(self) -> Iterator[Metric]:
        p = self._p
        for name, doc, value in (
            ("occupancy", "Signals in the copy engine now", p.occupancy),
            ("limit", "engine.signals_in_flight: signals the engine takes at once", p.limit),
            ("max_occupancy", "Most signals in the copy engine at once since start", p.max_occupancy),
            ("waiting", "Signal hand-overs waiting for room in the engine now", p.waiting),
        ):
            yield GaugeMetricFamily(f"polyhunter_engine_intake_{name}", doc, value=value)
        running, cumulative = 0, []
        assert p.buckets is not None
        for bound, n in zip((*WAIT_BUCKETS, float("inf")), p.buckets, strict=True):
            running += n
            cumulative.append((repr(bound) if bound != float("inf") else "+Inf", running))
        yield HistogramMetricFamily(
            "polyhunter_engine_backpressure_wait_seconds",
            "How long a source waited to hand a signal to the full engine (backpressure applied)",
            buckets=cumulative,
            sum_value=p.wait_s,
        )
        if self._push_wait is not None:
            waits, seconds = self._push_wait()
            yield CounterMetricFamily(
                "polyhunter_ingest_push_backpressure_waits",
                "Times the push path's reader waited for the mux's background hand-offs",
                value=waits,
            )
            yield CounterMetricFamily(
                "polyhunter_ingest_push_backpressure_seconds",
                "Seconds the push path's reader waited for the mux's background hand-offs",
                value=seconds,
            )


def export_intake(
    registry: CollectorRegistry, pressure: IntakePressure, push_wait: PushWait | None = None
) -> None:
    registry.register(IntakeCollector(pressure, push_wait))
