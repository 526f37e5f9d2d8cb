"""The signal mux: which sources run in a mode, and the one gate every signal passes.

Each signal offered is, in this order: counted as received for its source; dropped if the mode does
not run that source; dropped as stale if it reached us more than ``max_signal_age_s`` after the fill
(``seen_at - fill_time``, both carried by the signal: no clock read here); dropped as a duplicate if
its key was accepted before (first source wins, the late copy is counted against the late source);
otherwise accepted and handed to the downstream sink.

The mux is the :class:`~polyhunter.ports.sources.SignalSink` every source is started with
(:meth:`SignalMux.consume` runs a ``SignalSource`` with the mux as its sink and tracks its health), and
every source goes through the same gate:

* push (RTDS): the synchronous local gate (:meth:`SignalMux.admit`) runs inside ``FrameFilter`` (no
  await per frame: the firehose is almost all other wallets) and what it accepted goes to
  :meth:`SignalMux.hand_off_soon`: the shared gate and the hand-off run in the background, in arrival
  order per (leader, token), so the reader goes on to the next frame at once. (Before, a fill in a
  token whose previous fill was still executing held the reader until that order was answered, and the
  poller saw the fills queued behind it first.) The reader waits only when ``background_limit``
  hand-offs are outstanding;
* the Data API poller calls :meth:`SignalMux.submit` (local gate, shared gate, hand-off), which waits
  until its fills are handed on; each is queued behind the push path's outstanding hand-offs of the
  same (leader, token), so one token's fills reach the engine in the order they reached us;
* chain logs call :meth:`SignalMux.submit_until_taken` per signal: a failed hand-off is retried until
  taken, and the source commits its block cursor only past signals that were.

The hand-off itself (the shared claims, forgetting the keys of a failed hand-off, the order per
(leader, token)) is mux_handoff.py.

Provisional signals (the mempool source's: a fill in a pending transaction) pass the same gate. The mux
remembers those it accepted; when a source reporting mined fills (RTDS, the chain, the poller) offers the
same key (a duplicate), or the mempool source saw the block, the fill is *confirmed* through
``on_confirm`` (the engine then copies it for the configs that wait for mined fills). A retracted one
(dropped, replaced, reverted) is forgotten; seen mined after all, it is confirmed like the others.

A duplicate is final only once the first copy is durable. A source with a cursor (the poller, the chain)
that offers a fill another source is still handing on waits for that hand-off before it goes on (and
saves its cursor past the fill); if that hand-off fails, its own copy is handed on instead. Without the
wait, a crash between the two would lose the fill: the push copy was never written, and the poller's
cursor had moved past it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from polyhunter.domain.signal import PROVISIONAL_SOURCES, Signal, SourceKind
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.modes import IngestMode, sources_for
from polyhunter.ingest.mux_handoff import MuxHandOff
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalDedup, SignalSink, SignalSource
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

# IngestMode and sources_for live in modes.py; importable from here as before.
__all__ = ["Confirmed", "Downstream", "IngestMode", "SignalMux", "Verdict", "sources_for"]


Downstream = Callable[[list[Signal]], Awaitable[None]]
Confirmed = Callable[[Signal], Awaitable[None]]
PROVISIONAL_LIMIT = 50_000  # provisional keys remembered at once (the oldest is forgotten first)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    STALE = "stale"
    DISABLED = "disabled"


async def _discard(_signals: list[Signal]) -> None:
    """Default sink for a mux used only as a gate."""


class SignalMux(MuxHandOff, SignalSink):
    """The gate and hand-off every source's signals pass; the ``SignalSink`` sources are run with.

    ``sink`` is the downstream: it gets each accepted batch once (records it, copies it)."""

    def __init__(
        self,
        mode: IngestMode | str,
        dedup: DedupSet,
        metrics: IngestMetrics,
        *,
        max_signal_age_s: float,
        shared: SignalDedup | None = None,
        sink: Downstream = _discard,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 5.0,
        background_limit: int = 256,
        on_confirm: Confirmed | None = None,
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
        # keys accepted and not yet handed on, with the future a waiting duplicate made (None until one
        # waits): resolved True once durable, False if the hand-off failed
        self._in_flight: dict[str, asyncio.Future[bool] | None] = {}
        # the shared claims of the hand-offs running now (by id of their key list), the refreshers started
        # for those that outlasted a tick, and the loop the tick is armed on
        self._claimed: dict[int, list[str]] = {}
        self._holders: dict[int, asyncio.Future[None]] = {}
        self._tick_loop: asyncio.AbstractEventLoop | None = None
        # the background hand-offs of the push path: the last one per (leader, token), all of them
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._background_limit = background_limit
        self._room = asyncio.Event()
        self._room.set()
        self.background_failures = 0
        self.push_waits = 0  # times the push path's reader was held (background_limit outstanding)
        self.push_wait_s = 0.0  # and for how long in all
        self.on_confirm = on_confirm
        # provisional keys accepted (the mempool), and those retracted: a mined sighting confirms them
        self._provisional: dict[str, Signal] = {}
        self._retracted: dict[str, Signal] = {}
        self._confirming: set[asyncio.Task[bool]] = set()
        self.confirmed = 0
        self.retracted = 0

    def runs(self, source: SourceKind) -> bool:
        return source in self.enabled

    def admit(self, signal: Signal) -> bool:
        """``SignalSink.admit``: the push path's gate, True if :meth:`offer` accepted the signal."""
        return self.offer(signal) is Verdict.ACCEPTED

    def offer(self, signal: Signal) -> Verdict:
        """The synchronous gate against the local dedup set (no I/O), with its verdict."""
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
            if (self._provisional or self._retracted) and signal.source not in PROVISIONAL_SOURCES:
                self._maybe_confirm(signal)
            return Verdict.DUPLICATE
        st.accepted += 1
        if signal.source in PROVISIONAL_SOURCES:
            _remember(self._provisional, signal)
        return Verdict.ACCEPTED

    # --- provisional signals (the mempool) --------------------------------------------------------------

    def _maybe_confirm(self, signal: Signal) -> None:
        """A mined sighting of a key first accepted provisionally: confirm it in the background."""
        if signal.key in self._provisional or signal.key in self._retracted:
            task = asyncio.ensure_future(self.confirm(signal))
            self._confirming.add(task)
            task.add_done_callback(self._confirming.discard)

    async def confirm(self, signal: Signal) -> bool:
        """The fill of ``signal``'s key (first accepted provisionally) is mined: ``on_confirm`` once. False
        if the key was not provisional here (accepted mined, or confirmed before)."""
        first = self._provisional.pop(signal.key, None) or self._retracted.pop(signal.key, None)
        if first is None:
            return False
        self.confirmed += 1
        if self.on_confirm is not None:
            try:
                await self.on_confirm(signal)
            except Exception as exc:  # noqa: BLE001 - the owner's hook must not stop a source
                log.error("confirmation not handed on", key=signal.key, error=repr(exc))
        return True

    def retract(self, signal: Signal) -> bool:
        """A provisional signal's fill did not happen (its transaction dropped, replaced or reverted). Kept
        apart: if a source reports the same fill mined after all, it is confirmed then."""
        first = self._provisional.pop(signal.key, None)
        if first is None:
            return False
        self.retracted += 1
        _remember(self._retracted, first)
        return True

    def provisional_keys(self) -> int:
        return len(self._provisional)

    async def submit(self, signals: list[Signal]) -> None:
        """``SignalSink.submit``, for sources with a cursor (the poller): gate the batch, hand what is
        accepted to the downstream sink, and return once every fill of the batch is durable (its own copy
        or another source's). Raises the first failed hand-off (its keys forgotten)."""
        accepted: list[Signal] = []
        waiting: list[Signal] = []
        for signal in signals:
            verdict = self.offer(signal)
            if verdict is Verdict.ACCEPTED:
                accepted.append(signal)
            elif verdict is Verdict.DUPLICATE and signal.key in self._in_flight:
                waiting.append(signal)
        if accepted:
            await self._hand_off_in_turn(accepted)
        for signal in waiting:
            if await self._taken_elsewhere(signal):
                continue
            await self._hand_off_in_turn([signal])

    async def _taken_elsewhere(self, signal: Signal) -> bool:
        """For a duplicate: wait until the first copy's hand-off ends. True if it was handed on; False
        if it failed and this copy passed the gate in its place (the caller hands it on)."""
        if signal.key not in self._in_flight:
            return True
        future = self._in_flight[signal.key]
        if future is None:
            future = self._in_flight[signal.key] = asyncio.get_running_loop().create_future()
        if await asyncio.shield(future):
            return True
        if not self._reclaim(signal):
            return True  # a third copy passed the gate meanwhile
        self._stats[signal.source].duplicates -= 1  # counted as one when it was offered
        return False

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        """``SignalSink.hand_off_soon``, the push path: hand signals that passed :meth:`admit` on in the
        background, after earlier signals of the same (leader, token), without holding the caller. They
        are registered as in flight before the first await, so a cursor source offering the same fill
        waits for them. Returns at once unless ``background_limit`` hand-offs are outstanding."""
        for group_key, group in self._in_flight_by_token(admitted):
            self._background.add(self._queue(group_key, group, self._hand_off_after))
        if len(self._background) >= self._background_limit:
            self._room.clear()
        if not self._room.is_set():  # backpressure: the reader waits for the engine
            started = time.perf_counter()
            try:
                await self._room.wait()
            finally:
                self.push_waits += 1
                self.push_wait_s += time.perf_counter() - started

    async def consume(self, source: SignalSource) -> None:
        """Run a ``SignalSource`` with this mux as its sink until it ends; its health feeds the metrics."""
        self.metrics.probe_health(source.kind, lambda: source.health)
        await source.run(self)

    async def submit_until_taken(self, signal: Signal) -> None:
        """``SignalSink.submit_until_taken``: one signal of a cursor source (the chain), through the gate.

        A failed hand-off (e.g. a database timeout) neither raises nor skips the signal: its keys are
        forgotten and the same signal is handed on again after a backoff with jitter, until it is taken
        or another source's copy of the fill was taken meanwhile. The call returns only then, so the
        chain source's cursor is not committed past it (a restart in the meantime reads it again).
        """
        verdict = self.offer(signal)
        if verdict is Verdict.DUPLICATE and signal.key in self._in_flight:
            if await self._taken_elsewhere(signal):
                return
            verdict = Verdict.ACCEPTED
        if verdict is Verdict.ACCEPTED:
            await self._hand_off_until_taken(signal)

    async def _hand_off_until_taken(self, signal: Signal) -> None:
        delay = self._retry_initial_s
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
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


def _remember(table: dict[str, Signal], signal: Signal) -> None:
    table[signal.key] = signal
    if len(table) > PROVISIONAL_LIMIT:
        del table[next(iter(table))]
