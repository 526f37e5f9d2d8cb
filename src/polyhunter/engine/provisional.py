"""Fills first seen pending (the mempool source): which configs copy them now, which wait for the block.

A config's ``act_on`` (``domain/copy_config.py``) says when it copies: ``pending`` on the first sighting,
``confirmed`` only once a source reports the fill mined. For a provisional signal (``Signal.provisional``)
the engine plans the ``pending`` configs at once and keeps the signal here for the ``confirmed`` ones. When
the fill is confirmed (the mempool source saw its block, or RTDS / the chain / the poller offered the same
key), :meth:`CopyEngine.confirm` runs those configs, as copies of the signal already recorded. When it is
retracted (its transaction dropped, replaced or reverted) they are never planned: nothing is copied. A
retracted fill seen mined after all (another node mined it) is confirmed like any other.

Bounded: at most ``limit`` signals wait (the oldest is given up, counted in ``evicted``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from polyhunter.domain.copy_config import ActOn
from polyhunter.domain.signal import Signal
from polyhunter.ports.store import StoredConfig


@dataclass(slots=True)
class ProvisionalStats:
    waiting: int = 0  # signals whose confirmed configs wait now
    confirmed: int = 0  # confirmations that ran waiting configs
    retracted: int = 0  # provisional signals retracted (their waiting configs never run)
    evicted: int = 0  # given up for room


class ProvisionalFills:
    def __init__(self, limit: int = 10_000) -> None:
        self._limit = max(1, limit)
        self._waiting: dict[str, Signal] = {}
        self._retracted: dict[str, Signal] = {}
        self._confirming: set[str] = set()
        self.stats = ProvisionalStats()

    def plan_now(self, signal: Signal, configs: Sequence[StoredConfig]) -> list[StoredConfig]:
        """The configs to plan for ``signal`` now: all of them for a mined fill; the ``pending`` ones for a
        provisional one (the signal is kept for the others); the ``confirmed`` ones when confirming."""
        if signal.key in self._confirming:
            return [c for c in configs if c.config.act_on is ActOn.CONFIRMED]
        if not signal.provisional:
            return list(configs)
        now = [c for c in configs if c.config.act_on is ActOn.PENDING]
        if len(now) < len(configs):
            self._keep(self._waiting, signal)
        return now

    def confirming(self, signal: Signal) -> bool:
        return signal.key in self._confirming

    def take(self, key: str) -> Signal | None:
        """The waiting signal of ``key`` (or a retracted one, mined after all), now being confirmed."""
        signal = self._waiting.pop(key, None) or self._retracted.pop(key, None)
        if signal is not None:
            self._confirming.add(key)
            self.stats.confirmed += 1
            self._count()
        return signal

    def done(self, key: str) -> None:
        self._confirming.discard(key)

    def retract(self, key: str) -> bool:
        """The fill of ``key`` did not happen: its waiting configs never run. True if some were waiting."""
        signal = self._waiting.pop(key, None)
        self.stats.retracted += 1
        if signal is not None:
            self._keep(self._retracted, signal)
        self._count()
        return signal is not None

    def _keep(self, table: dict[str, Signal], signal: Signal) -> None:
        table[signal.key] = signal
        while len(table) > self._limit:
            del table[next(iter(table))]
            self.stats.evicted += int(table is self._waiting)
        self._count()

    def _count(self) -> None:
        self.stats.waiting = len(self._waiting)
