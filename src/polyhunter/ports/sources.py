"""Signal ports: sources of leader fills, the sink the mux offers them, their health, and the dedup set.

Every source (RTDS push, Data API poller, chain logs) is a :class:`SignalSource`: started with
``await source.run(sink)``, it hands its signals to the :class:`SignalSink` the mux gives it, in one of
two ways:

* **push** (no cursor, nothing is ever re-sent: RTDS): per signal the synchronous gate
  :meth:`SignalSink.admit` (no await: the firehose is almost all other wallets), then
  :meth:`SignalSink.hand_off_soon` for what it admitted, which hands on in the background, in arrival
  order per (leader, token), and returns at once (unless too many hand-offs are outstanding);
* **cursor** (the poller, the chain): :meth:`SignalSink.submit` (a batch; raises if the hand-off failed,
  so the cursor stays) or :meth:`SignalSink.submit_until_taken` (one signal, retried until it is taken
  or another source's copy was). Both return only once each fill is durable — its own copy or another
  source's — so the source moves its cursor past a fill only when a crash can no longer lose it; a
  batch of :meth:`SignalSink.submit` also queues behind the push path's unfinished hand-offs of the same
  (leader, token), so one token's fills reach the engine in the order they reached us.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from polyhunter.domain.signal import Signal, SourceKind


class SourceHealth(StrEnum):
    CONNECTING = "CONNECTING"  # starting or reconnecting, nothing received yet
    HEALTHY = "HEALTHY"  # receiving within its expected cadence
    DEGRADED = "DEGRADED"  # receiving, but late, silent past its timeout, or erroring and retrying
    DOWN = "DOWN"  # stopped or given up; the mux relies on the other sources


class SignalSink(Protocol):
    """What the mux offers a source: the gate every signal passes (stale, dedup) and the hand-off on."""

    def admit(self, signal: Signal) -> bool:
        """Push path, synchronous (no I/O): counts the signal and passes it through the local gate.
        True if accepted: the caller hands it on with :meth:`hand_off_soon`."""
        ...

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        """Push path: hand admitted signals on in the background, after earlier signals of the same
        (leader, token). Returns at once unless too many hand-offs are outstanding. A failed background
        hand-off forgets the keys (another source's copy of the fill is accepted) and is logged."""
        ...

    async def submit(self, signals: list[Signal]) -> None:
        """Cursor path, a batch: gate, hand on what is accepted, return once every fill of the batch is
        durable. Raises if a hand-off failed (its keys are forgotten): the caller keeps its cursor."""
        ...

    async def submit_until_taken(self, signal: Signal) -> None:
        """Cursor path, one signal: like :meth:`submit`, but a failed hand-off is retried with backoff
        until it is taken (or another source's copy of the fill was taken meanwhile); never raises."""
        ...


class SignalSource(Protocol):
    """A feed of leader fills (RTDS websocket, Data API poller, chain logs).

    ``run(sink)`` reads until the source is closed (or cancelled), normalizing what it reads (keys
    computed, ``seen_at`` stamped at receipt) and handing it to ``sink``; ``health`` is read by the mux
    and the metrics exporter at any time; ``close()`` stops ``run`` and releases what the source holds
    (not the clients it was given: their owner closes them).
    """

    @property
    def kind(self) -> SourceKind: ...

    @property
    def health(self) -> SourceHealth: ...

    async def run(self, sink: SignalSink) -> None: ...

    async def close(self) -> None: ...


class SignalDedup(Protocol):
    """Set of signal keys already accepted; the first source to offer a key wins.

    ``first_seen`` is True exactly once per key within the dedup window, and records a late
    duplicate against ``source`` otherwise. The in-memory implementation
    (``polyhunter.ingest.dedup.DedupSet``) also offers the synchronous ``check`` fast path; a shared
    one (Redis through the Coordinator) is only async.
    """

    async def first_seen(self, key: str, source: SourceKind) -> bool: ...

    async def forget(self, key: str) -> None:
        """Undo an accepted key whose signal could not be handed on: a later offer is accepted again."""
        ...

    async def hold(self, keys: Sequence[str]) -> None:
        """Keep the claims on `keys` (accepted, still being handed on) alive until cancelled. A shared
        dedup's claim is short: if this process dies, it expires and another source takes the fill."""
        ...

    async def finalize(self, keys: Sequence[str]) -> None:
        """The signals of `keys` are durable: their keys are final, a later copy is a duplicate."""
        ...


class SyncSignalDedup(SignalDedup, Protocol):
    def check(self, key: str, source: SourceKind) -> bool:
        """Synchronous ``first_seen`` for the hot path (no await, no I/O)."""
        ...
