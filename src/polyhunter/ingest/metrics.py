"""Ingest metrics per source: received / accepted / duplicates / stale (with a reason) / retracted,
fill-to-receipt lag, health.

The hot path only bumps plain integer attributes (a prometheus ``Counter.labels().inc()`` costs more
than the whole pre-filter of a frame); a custom collector turns them into Prometheus counter, gauge,
histogram and state-set families when the registry is scraped. ``IngestMetrics.registry`` is what
the app exposes (``prometheus_client.generate_latest(metrics.registry)``).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    StateSetMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from polyhunter.domain.signal import SourceKind
from polyhunter.log import get_logger
from polyhunter.ports.sources import SourceHealth

log = get_logger(__name__)

# Upper bounds of the lag histogram, milliseconds (the last bucket is +Inf).
LAG_BUCKETS_MS: tuple[int, ...] = (
    100,
    250,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    900_000,
)


class LagReservoir:
    """The last ``size`` lags (ring buffer) for quantiles, plus a cumulative histogram."""

    __slots__ = ("_buf", "_i", "_n", "buckets", "count", "sum_ms")

    def __init__(self, size: int = 4096) -> None:
        self._buf = [0] * size
        self._i = 0
        self._n = 0
        self.buckets = [0] * (len(LAG_BUCKETS_MS) + 1)
        self.count = 0
        self.sum_ms = 0

    def observe(self, lag_ms: int) -> None:
        buf = self._buf
        buf[self._i] = lag_ms
        self._i = (self._i + 1) % len(buf)
        if self._n < len(buf):
            self._n += 1
        self.buckets[bisect_left(LAG_BUCKETS_MS, lag_ms)] += 1
        self.count += 1
        self.sum_ms += lag_ms

    def quantile(self, q: float) -> int | None:
        """Nearest-rank quantile of the retained window, or None before any observation."""
        if self._n == 0:
            return None
        window = sorted(self._buf[: self._n])
        rank = min(self._n - 1, max(0, int(q * self._n + 0.999999) - 1))
        return window[rank]


class SourceStats:
    __slots__ = (
        "accepted",
        "confirmed",
        "disabled",
        "duplicates",
        "handoff_failures",
        "health",
        "lag",
        "received",
        "retracted",
        "stale",
        "stale_replay_window",
    )

    def __init__(self) -> None:
        self.received = 0
        self.accepted = 0
        self.duplicates = 0
        self.stale = 0  # offered, but older than max_signal_age_s (reason "max_age")
        self.stale_replay_window = 0  # misses read after a restart, older than the replay window
        self.disabled = 0  # offered by a source the mode does not run
        self.handoff_failures = 0  # accepted signals the sink failed to take (keys forgotten; retried)
        self.retracted = 0  # handed on, then undone: a re-org (chain), a dropped pending tx (mempool)
        self.confirmed = 0  # provisional (mempool) signals whose fill was then seen mined
        self.lag = LagReservoir()
        self.health = SourceHealth.CONNECTING


class FrameStats:
    """Raw push-frame accounting of the fast path (``FrameFilter``).

    Each frame is counted once, by where it left the fast path; the total (``frames``) and the number of
    ``trades`` frames are derived when read, so the firehose's common frame (a ``trades`` fill of a wallet
    nobody follows) costs one counter. Fill frames of another type are counted in ``other_types`` before
    their outcome, and the outcomes are read before those: a reader in another thread (the metrics
    endpoint) can see a ``trades`` count one short for a moment, never one too many, and ``by_type``
    never reports less than it reported before, so every figure only grows."""

    __slots__ = (
        "_trades_reported",
        "decode_errors",
        "matched",
        "no_fill",
        "not_activity",
        "other_types",
        "prefiltered",
    )

    def __init__(self) -> None:
        self.no_fill = 0  # frames without "proxyWallet": pings, the empty first frame, other topics, errors
        self.not_activity = 0  # frames with the key that did not decode and are not activity frames
        self.prefiltered = 0  # fill frames of wallets nobody follows (almost all without decoding)
        self.decode_errors = 0  # activity frames that failed typed decoding
        self.matched = 0  # decoded frames of followed leaders
        # fill frames of a type other than "trades" ("orders_matched", "other"), before the leader filter
        self.other_types: dict[str, int] = {}
        self._trades_reported = 0

    @property
    def frames(self) -> int:
        """Raw frames offered."""
        return self.no_fill + self.not_activity + self.prefiltered + self.decode_errors + self.matched

    @property
    def not_trades(self) -> int:
        """Pings, empty frames, other topics and types."""
        return self.no_fill + self.not_activity

    @property
    def by_type(self) -> dict[str, int]:
        """Fill frames by activity type ("trades", "orders_matched", "other"), before the leader filter:
        the feed's own mix, so a type the venue stops sending shows as a counter that stands still."""
        fills = self.not_activity + self.prefiltered + self.decode_errors + self.matched  # outcomes first
        counts = dict(self.other_types)
        trades = max(self._trades_reported, fills - sum(counts.values()))
        self._trades_reported = trades
        if trades:
            counts["trades"] = trades
        return counts


class RejectCounter:
    """Inbound messages of one source dropped at the edge (failed validation), counted by reason.

    Logged once per reason, then at most once per ``log_every_s`` with the number suppressed since:
    a venue that sends the same bad message on every frame costs one line a minute, not one a frame.
    """

    __slots__ = ("_clock", "_last_log", "_log_every_s", "_suppressed", "by_reason", "source")

    def __init__(
        self, source: str, *, log_every_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.source = source
        self.by_reason: dict[str, int] = {}
        self._log_every_s = log_every_s
        self._clock = clock
        self._last_log: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def reject(self, reason: str, detail: str = "", **context: object) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        now = self._clock()
        last = self._last_log.get(reason)
        if last is not None and now - last < self._log_every_s:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return
        self._last_log[reason] = now
        suppressed = self._suppressed.pop(reason, 0)
        log.warning(
            "ingest.message_rejected",
            source=self.source,
            reason=reason,
            detail=detail[:200],
            suppressed_since_last=suppressed,
            **context,
        )


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, prefix: str = "polyhunter_ingest") -> None:
        self.sources: dict[SourceKind, SourceStats] = {kind: SourceStats() for kind in SourceKind}
        self.frames = FrameStats()
        self.rejects: dict[str, RejectCounter] = {}
        self._health_probes: dict[SourceKind, Callable[[], SourceHealth]] = {}
        self._late_by_winner: Callable[[], dict[tuple[SourceKind, SourceKind], int]] | None = None
        self.prefix = prefix
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(_IngestCollector(self))

    def source(self, kind: SourceKind) -> SourceStats:
        return self.sources[kind]

    def rejected(self, source: str) -> RejectCounter:
        """The reject counter of ``source`` (a ``SourceKind`` value, or e.g. ``clob_ws``)."""
        counter = self.rejects.get(source)
        if counter is None:
            counter = self.rejects[source] = RejectCounter(source)
        return counter

    def probe_health(self, kind: SourceKind, probe: Callable[[], SourceHealth]) -> None:
        """Read ``kind``'s health from its source whenever metrics are read."""
        self._health_probes[kind] = probe

    def track_late_duplicates(self, reader: Callable[[], dict[tuple[SourceKind, SourceKind], int]]) -> None:
        self._late_by_winner = reader

    def health(self, kind: SourceKind) -> SourceHealth:
        probe = self._health_probes.get(kind)
        if probe is not None:
            self.sources[kind].health = probe()
        return self.sources[kind].health

    def late_by_winner(self) -> dict[tuple[SourceKind, SourceKind], int]:
        return dict(self._late_by_winner()) if self._late_by_winner is not None else {}

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Plain numbers per source, for logs, the API and benchmarks."""
        out: dict[str, dict[str, object]] = {}
        for kind, st in self.sources.items():
            out[kind.value] = {
                "received": st.received,
                "accepted": st.accepted,
                "duplicates": st.duplicates,
                "stale": st.stale,
                "stale_replay_window": st.stale_replay_window,
                "retracted": st.retracted,
                "confirmed": st.confirmed,
                "disabled": st.disabled,
                "handoff_failures": st.handoff_failures,
                "lag_p50_ms": st.lag.quantile(0.5),
                "lag_p99_ms": st.lag.quantile(0.99),
                "health": self.health(kind).value,
            }
        return out


class _IngestCollector(Collector):
    def __init__(self, metrics: IngestMetrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        m, p = self._m, self._m.prefix
        signals = CounterMetricFamily(
            f"{p}_signals", "Signals offered to the mux, by source and outcome", labels=["source", "outcome"]
        )
        received = CounterMetricFamily(f"{p}_received", "Signals received per source", labels=["source"])
        failures = CounterMetricFamily(
            f"{p}_handoff_failures",
            "Accepted signals the sink failed to take (keys forgotten, left to a retry or another source)",
            labels=["source"],
        )
        stale = CounterMetricFamily(
            f"{p}_stale",
            "Fills not copied because they were too old, by source and reason",
            labels=["source", "reason"],
        )
        retracted = CounterMetricFamily(
            f"{p}_retracted",
            "Signals handed on and then retracted (re-orged away, pending transaction dropped)",
            labels=["source"],
        )
        confirmed = CounterMetricFamily(
            f"{p}_confirmed",
            "Provisional (mempool) signals whose fill was then seen mined",
            labels=["source"],
        )
        lag = HistogramMetricFamily(f"{p}_lag_seconds", "Fill-to-receipt lag per source", labels=["source"])
        p50 = GaugeMetricFamily(f"{p}_lag_p50_seconds", "Median recent lag per source", labels=["source"])
        p99 = GaugeMetricFamily(f"{p}_lag_p99_seconds", "99th percentile recent lag", labels=["source"])
        health = StateSetMetricFamily(f"{p}_source_health", "Source health state", labels=["source"])
        for kind, st in m.sources.items():
            src = kind.value
            received.add_metric([src], st.received)
            failures.add_metric([src], st.handoff_failures)
            stale.add_metric([src, "max_age"], st.stale)
            stale.add_metric([src, "replay_window"], st.stale_replay_window)
            retracted.add_metric([src], st.retracted)
            confirmed.add_metric([src], st.confirmed)
            for outcome, value in (
                ("accepted", st.accepted),
                ("duplicate", st.duplicates),
                ("stale", st.stale),
                ("disabled", st.disabled),
            ):
                signals.add_metric([src, outcome], value)
            cumulative, buckets = 0, []
            for bound, n in zip((*LAG_BUCKETS_MS, None), st.lag.buckets, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound is None else str(bound / 1000), float(cumulative)))
            lag.add_metric([src], buckets, st.lag.sum_ms / 1000)
            for fam, q in ((p50, 0.5), (p99, 0.99)):
                quantile_ms = st.lag.quantile(q)
                if quantile_ms is not None:
                    fam.add_metric([src], quantile_ms / 1000)
            current = m.health(kind)
            health.add_metric([src], {state.value: state is current for state in SourceHealth})
        late = CounterMetricFamily(
            f"{p}_late_duplicates",
            "Duplicates by late source and first source",
            labels=["source", "first_source"],
        )
        for (late_src, winner), n in sorted(m.late_by_winner().items()):
            late.add_metric([late_src.value, winner.value], n)
        frames = CounterMetricFamily(f"{p}_frames", "Raw push frames by outcome", labels=["outcome"])
        fs = m.frames
        for outcome, value in (
            ("received", fs.frames),
            ("prefiltered", fs.prefiltered),
            ("not_trades", fs.not_trades),
            ("decode_error", fs.decode_errors),
            ("matched", fs.matched),
        ):
            frames.add_metric([outcome], value)
        by_type = CounterMetricFamily(
            f"{p}_frames_by_type", "Raw push fill frames by activity type", labels=["type"]
        )
        for frame_type, value in sorted(fs.by_type.items()):
            by_type.add_metric([frame_type], value)
        rejected = CounterMetricFamily(
            f"{p}_rejected",
            "Inbound venue messages dropped at the edge (failed validation), by source and reason",
            labels=["source", "reason"],
        )
        for source, counter in sorted(m.rejects.items()):
            for reason, n in sorted(counter.by_reason.items()):
                rejected.add_metric([source, reason], n)
        yield from (
            signals,
            received,
            failures,
            stale,
            retracted,
            confirmed,
            lag,
            p50,
            p99,
            health,
            late,
            frames,
            by_type,
            rejected,
        )
