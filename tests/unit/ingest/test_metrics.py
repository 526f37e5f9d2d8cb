"""IngestMetrics: lag quantiles from a bounded reservoir, Prometheus export of counters/health."""

from __future__ import annotations

from prometheus_client import generate_latest

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.metrics import IngestMetrics, LagReservoir
from polyhunter.ports.sources import SourceHealth


def test_reservoir_quantiles_and_bounded_window() -> None:
    r = LagReservoir(size=100)
    assert r.quantile(0.5) is None
    for lag in range(1, 101):
        r.observe(lag)
    assert r.quantile(0.5) == 50
    assert r.quantile(0.99) == 99
    for _ in range(100):
        r.observe(5_000)  # the window slides: old observations leave it
    assert r.quantile(0.5) == 5_000
    assert r.count == 200
    assert sum(r.buckets) == 200


def test_prometheus_export() -> None:
    m = IngestMetrics()
    ws = m.source(SourceKind.WS)
    ws.received, ws.accepted, ws.duplicates, ws.stale = 10, 7, 2, 1
    for lag in (400, 800, 1_200):
        ws.lag.observe(lag)
    m.probe_health(SourceKind.WS, lambda: SourceHealth.HEALTHY)
    m.probe_health(SourceKind.POLL, lambda: SourceHealth.DEGRADED)
    m.source(SourceKind.CHAIN).handoff_failures = 3
    m.source(SourceKind.CHAIN).retracted = 2
    m.source(SourceKind.POLL).stale_replay_window = 5
    m.frames.no_fill, m.frames.prefiltered, m.frames.matched = 40, 950, 10
    m.frames.other_types["orders_matched"] = 300
    m.track_late_duplicates(lambda: {(SourceKind.POLL, SourceKind.WS): 4})
    text = generate_latest(m.registry).decode()
    assert 'polyhunter_ingest_signals_total{outcome="accepted",source="ws"} 7.0' in text
    assert 'polyhunter_ingest_signals_total{outcome="duplicate",source="ws"} 2.0' in text
    assert 'polyhunter_ingest_signals_total{outcome="stale",source="ws"} 1.0' in text
    assert 'polyhunter_ingest_received_total{source="ws"} 10.0' in text
    assert 'polyhunter_ingest_handoff_failures_total{source="chain"} 3.0' in text
    assert 'polyhunter_ingest_retracted_total{source="chain"} 2.0' in text
    assert 'polyhunter_ingest_stale_total{reason="max_age",source="ws"} 1.0' in text
    assert 'polyhunter_ingest_stale_total{reason="replay_window",source="poll"} 5.0' in text
    assert 'polyhunter_ingest_lag_seconds_bucket{le="0.5",source="ws"} 1.0' in text
    assert 'polyhunter_ingest_lag_seconds_bucket{le="+Inf",source="ws"} 3.0' in text
    assert 'polyhunter_ingest_lag_seconds_count{source="ws"} 3.0' in text
    assert 'polyhunter_ingest_lag_p50_seconds{source="ws"} 0.8' in text
    assert (
        'polyhunter_ingest_source_health{polyhunter_ingest_source_health="HEALTHY",source="ws"} 1.0' in text
    )
    assert (
        'polyhunter_ingest_source_health{polyhunter_ingest_source_health="DEGRADED",source="poll"} 1.0'
        in text
    )
    assert (
        'polyhunter_ingest_source_health{polyhunter_ingest_source_health="CONNECTING",source="chain"} 1.0'
        in text
    )
    assert 'polyhunter_ingest_late_duplicates_total{first_source="ws",source="poll"} 4.0' in text
    assert 'polyhunter_ingest_frames_total{outcome="prefiltered"} 950.0' in text
    assert 'polyhunter_ingest_frames_total{outcome="received"} 1000.0' in text
    assert 'polyhunter_ingest_frames_by_type_total{type="trades"} 660.0' in text
    assert 'polyhunter_ingest_frames_by_type_total{type="orders_matched"} 300.0' in text
    snap = m.snapshot()
    assert snap["ws"]["lag_p50_ms"] == 800
    assert snap["poll"]["health"] == "DEGRADED"
    assert (snap["poll"]["stale_replay_window"], snap["chain"]["retracted"]) == (5, 2)


def test_frame_counts_derived_on_read_never_go_down() -> None:
    """The total and the trades count are derived from the outcome counters: a reader that catches a
    non-trades frame between its type count and its outcome sees the trades count held, not lowered."""
    fs = IngestMetrics().frames
    fs.no_fill, fs.prefiltered, fs.not_activity, fs.decode_errors, fs.matched = 1, 5, 1, 1, 2
    assert (fs.frames, fs.not_trades) == (10, 2)
    assert fs.by_type == {"trades": 9}
    fs.other_types["orders_matched"] = 1  # counted by type, its outcome not yet
    assert fs.by_type == {"trades": 9, "orders_matched": 1}
    fs.prefiltered += 1  # its outcome
    assert fs.by_type == {"trades": 9, "orders_matched": 1}
    fs.prefiltered += 1  # a trades frame
    assert fs.by_type == {"trades": 10, "orders_matched": 1}
    assert fs.frames == 12
