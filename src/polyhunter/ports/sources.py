"""Signal ports: sources of leader fills, their health, and the dedup set the mux offers keys to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Protocol

from polyhunter.domain.signal import Signal, SourceKind


class SourceHealth(StrEnum):
    CONNECTING = "CONNECTING"  # starting or reconnecting, nothing received yet
    HEALTHY = "HEALTHY"  # receiving within its expected cadence
    DEGRADED = "DEGRADED"  # receiving, but late, silent past its timeout, or erroring and retrying
    DOWN = "DOWN"  # stopped or given up; the mux relies on the other sources


class SignalSource(Protocol):
    """A feed of leader fills (RTDS websocket, Data API poller, chain logs).

    ``signals()`` yields normalized signals (keys computed, ``seen_at`` stamped at receipt) until the
    source is closed; ``health`` is read by the mux and the metrics exporter at any time.
    """

    @property
    def kind(self) -> SourceKind: ...

    @property
    def health(self) -> SourceHealth: ...

    def signals(self) -> AsyncIterator[Signal]: ...

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


class SyncSignalDedup(SignalDedup, Protocol):
    def check(self, key: str, source: SourceKind) -> bool:
        """Synchronous ``first_seen`` for the hot path (no await, no I/O)."""
        ...
