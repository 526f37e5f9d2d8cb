"""The signal mux: which sources run in a mode, and the one gate every signal passes.

Each signal offered is, in this order: counted as received for its source; dropped if the mode does
not run that source; dropped as stale if it reached us more than ``max_signal_age_s`` after the fill
(``seen_at - fill_time``, both carried by the signal: no clock read here); dropped as a duplicate if
its key was accepted before (first source wins, the late copy is counted against the late source);
otherwise accepted and handed to the sink. Every source goes through the same gate:

* the Data API poller calls :meth:`SignalMux.submit` (local gate, shared gate, hand-off);
* the RTDS fast path runs the synchronous local gate (:meth:`SignalMux.offer`) inside ``FrameFilter``
  (no await per frame: the firehose is almost all other wallets) and passes what it accepted to
  :meth:`SignalMux.hand_off` (shared gate, hand-off);
* chain logs (a ``SignalSource``) are drained with :meth:`SignalMux.consume`.

With a shared dedup (Redis, several supervisors) a locally new key is also claimed there. A hand-off
that fails forgets the keys again, locally and in the shared dedup, so the source's retry or another
source's copy of the same fill is accepted: a failed hand-off never turns a fill into a "duplicate".
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from enum import StrEnum

from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.log import get_logger
from polyhunter.ports import SignalDedup, SignalSource

log = get_logger(__name__)

Sink = Callable[[list[Signal]], Awaitable[None]]


class IngestMode(StrEnum):
    WS_ONLY = "WS_ONLY"
    POLLING_ONLY = "POLLING_ONLY"
    CHAIN_ONLY = "CHAIN_ONLY"
    HYBRID = "HYBRID"


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    STALE = "stale"
    DISABLED = "disabled"


def sources_for(mode: IngestMode | str) -> frozenset[SourceKind]:
    match IngestMode(mode):
        case IngestMode.WS_ONLY:
            return frozenset({SourceKind.WS})
        case IngestMode.POLLING_ONLY:
            return frozenset({SourceKind.POLL})
        case IngestMode.CHAIN_ONLY:
            return frozenset({SourceKind.CHAIN})
        case IngestMode.HYBRID:
            return frozenset({SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN})
        case _:  # pragma: no cover - IngestMode() already rejects unknown strings
            raise ValueError(f"unknown ingest mode {mode!r}")


async def _discard(_signals: list[Signal]) -> None:
    """Default sink for a mux used only as a gate."""


class SignalMux:
    def __init__(
        self,
        mode: IngestMode | str,
        dedup: DedupSet,
        metrics: IngestMetrics,
        *,
        max_signal_age_s: float,
        shared: SignalDedup | None = None,
        sink: Sink = _discard,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 5.0,
    ) -> None:
        self.mode = IngestMode(mode)
        self.enabled = sources_for(self.mode)
        self.dedup = dedup
        self.shared = shared
        self.metrics = metrics
        self._max_age_ms = int(max_signal_age_s * 1000)
        self._sink = sink
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._stats = metrics.sources
        metrics.track_late_duplicates(lambda: dedup.stats.late_by_winner)

    def runs(self, source: SourceKind) -> bool:
        return source in self.enabled

    def offer(self, signal: Signal) -> Verdict:
        """The synchronous gate against the local dedup set (no I/O)."""
        st = self._stats[signal.source]
        st.received += 1
        if signal.source not in self.enabled:
            st.disabled += 1
            return Verdict.DISABLED
        lag_ms = signal.lag_ms
        st.lag.observe(lag_ms)
        if lag_ms > self._max_age_ms:
            st.stale += 1
            return Verdict.STALE
        if not self.dedup.check(signal.key, signal.source):
            st.duplicates += 1
            return Verdict.DUPLICATE
        st.accepted += 1
        return Verdict.ACCEPTED

    async def _claim_shared(self, accepted: list[Signal]) -> list[Signal]:
        """Of signals the local gate accepted, those no other process claimed first. If the shared
        dedup fails (Redis down), every key of the batch is forgotten again and the error raised."""
        shared = self.shared
        if shared is None:
            return accepted
        claimed: list[Signal] = []
        for i, signal in enumerate(accepted):
            try:
                new = await shared.first_seen(signal.key, signal.source)
            except BaseException:
                await self._failed([*claimed, *accepted[i:]])
                raise
            if new:
                claimed.append(signal)
                continue
            st = self._stats[signal.source]
            st.accepted -= 1
            st.duplicates += 1
        return claimed

    async def submit(self, signals: list[Signal]) -> None:
        """Sink for sources: gate the batch, hand what is accepted to the engine's sink."""
        accepted = [s for s in signals if self.offer(s) is Verdict.ACCEPTED]
        if accepted:
            await self.hand_off(accepted)

    async def hand_off(self, offered: list[Signal]) -> None:
        """Sink for signals that already passed :meth:`offer` (the RTDS fast path): the shared gate,
        then the engine's sink. Raises what the sink raised, after forgetting the keys."""
        accepted = await self._claim_shared(offered)
        if not accepted:
            return
        try:
            await self._sink(accepted)
        except BaseException:
            await self._failed(accepted)
            raise

    async def _failed(self, signals: list[Signal]) -> None:
        """Not handed on (e.g. the database refused the write): forget the keys, so the source's retry
        (the poller re-reads from its unmoved cursor) or another source is accepted again."""
        for signal in signals:
            self.dedup.discard(signal.key)
            st = self._stats[signal.source]
            st.accepted -= 1
            st.handoff_failures += 1
        if self.shared is None:
            return
        for signal in signals:
            try:
                await self.shared.forget(signal.key)
            except Exception as exc:  # noqa: BLE001 - the hand-off error is the one to raise
                log.error("shared dedup key not forgotten", key=signal.key, error=repr(exc))

    async def consume(self, source: SignalSource) -> None:
        """Drain a ``SignalSource`` through the gate until it ends; its health feeds the metrics.

        A failed hand-off (e.g. a database timeout) neither ends the drain nor skips the signal: its keys
        are forgotten and the same signal is handed on again after a backoff with jitter, until it is
        taken or another source's copy of the fill was taken meanwhile. The source is not asked for its
        next signal until then, so the chain source's cursor is not committed past it (a restart in the
        meantime reads it again).
        """
        self.metrics.probe_health(source.kind, lambda: source.health)
        async for signal in source.signals():
            if self.offer(signal) is Verdict.ACCEPTED:
                await self._hand_off_until_taken(signal)

    async def _hand_off_until_taken(self, signal: Signal) -> None:
        delay = self._retry_initial_s
        while True:
            try:
                await self.hand_off([signal])
            except Exception as exc:  # noqa: BLE001 - any sink failure: retry the same signal
                log.error(
                    "signal not handed on; retrying",
                    key=signal.key,
                    source=str(signal.source),
                    retry_in_s=round(delay, 3),
                    error=repr(exc),
                )
            else:
                return
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter, not security
            delay = min(self._retry_max_s, delay * 2)
            if not self._reclaim(signal):
                return  # another source's copy was handed on meanwhile

    def _reclaim(self, signal: Signal) -> bool:
        """The local gate again for a signal whose hand-off failed (received and lag already counted)."""
        st = self._stats[signal.source]
        if not self.dedup.check(signal.key, signal.source):
            st.duplicates += 1
            return False
        st.accepted += 1
        return True
