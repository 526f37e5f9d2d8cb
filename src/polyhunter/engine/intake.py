"""How signals enter the copy engine: in order per (leader, token), durable before the source moves on,
executed in the background.

* A source hands a signal over and waits only until it is recorded with its copies prewritten (one
  transaction). That is the point after which nothing can be lost (a crash leaves PENDING rows the
  sweep settles), so the source may save its cursor and read on. The copies' pricing, orders and
  outcomes then run in a task of their own: one slow venue round trip no longer holds up the next
  frame of the push feed.
* Signals of one leader in one token are prepared and executed one after another, in arrival order
  (the sources hand signals over concurrently): sizing reads positions (the leader's before a sell,
  each config's holding) that the previous fill in that token moves. Other tokens run alongside, and
  so do a cluster worker's partitions (each hands the signal in with its own followers' scope).
* At most `signals_in_flight` signals are in the engine at once; a source handing over one more waits
  (backpressure instead of an unbounded queue). `pressure` tells how full the intake is and how long
  sources waited (exported by engine/intake_metrics.py, shown by /health's queue check).
* `drain` at shutdown lets submitted orders get their answers before the process stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from polyhunter.domain.signal import Signal
from polyhunter.engine.keyed_locks import KeyedLocks
from polyhunter.log import get_logger
from polyhunter.task_drain import drain_tasks

log = get_logger(__name__)

P = TypeVar("P")  # what the prepare step hands to the execute step

# Which followers (by user id) a signal is handled for: None for all of them; a cluster worker hands
# each partition's delivery of a signal in with that partition's followers (cluster/consumer.py).
ConfigScope = Callable[[int], bool]

WAIT_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0)  # seconds a source waited for a slot


@dataclass
class IntakePressure:
    """How full the intake is and how long sources waited for a slot (backpressure applied)."""

    limit: int
    occupancy: int = 0  # signals in the engine now
    max_occupancy: int = 0  # the high-water mark
    waiting: int = 0  # hand-overs waiting for a slot now
    waits: int = 0  # hand-overs that had to wait
    wait_s: float = 0.0  # seconds waited in all
    last_wait_end: float = float("-inf")  # monotonic time the last wait ended
    buckets: list[int] | None = None  # per WAIT_BUCKETS bound (the last is +Inf), not cumulative

    def __post_init__(self) -> None:
        if self.buckets is None:
            self.buckets = [0] * (len(WAIT_BUCKETS) + 1)

    def waited(self, seconds: float) -> None:
        assert self.buckets is not None
        self.waits += 1
        self.wait_s += seconds
        self.last_wait_end = time.monotonic()
        self.buckets[next((i for i, b in enumerate(WAIT_BUCKETS) if seconds <= b), len(WAIT_BUCKETS))] += 1

    def applied_within(self, seconds: float) -> bool:
        """Backpressure now (a source waits) or within the last `seconds`."""
        return self.waiting > 0 or time.monotonic() - self.last_wait_end <= seconds


class Intake(Generic[P]):
    def __init__(
        self,
        prepare: Callable[[Signal, ConfigScope | None], Awaitable[P | None]],
        execute: Callable[[P], Awaitable[None]],
        signals_in_flight: int,
    ) -> None:
        self._prepare = prepare
        self._execute = execute
        # one (leader, token) at a time per scope: a cluster worker's partitions (disjoint followers, each
        # delivering the signal on its own) do not wait for each other
        self._locks: KeyedLocks[tuple[str, str, ConfigScope | None]] = KeyedLocks()
        self._slots = asyncio.Semaphore(signals_in_flight)
        self.pressure = IntakePressure(signals_in_flight)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def executing(self) -> int:
        return len(self._background)

    async def handle(self, signals: Sequence[Signal], scope: ConfigScope | None = None) -> None:
        """Accept each signal in arrival order; raises if one could not be recorded."""
        for signal in signals:
            await self.accept(signal, scope)

    async def _take_slot(self) -> None:
        p = self.pressure
        if self._slots.locked():  # full: the source waits (backpressure)
            started = time.perf_counter()
            p.waiting += 1
            try:
                await self._slots.acquire()
            finally:
                p.waiting -= 1
                p.waited(time.perf_counter() - started)
        else:
            await self._slots.acquire()
        p.occupancy += 1
        if p.occupancy > p.max_occupancy:
            p.max_occupancy = p.occupancy

    def _free_slot(self) -> None:
        self.pressure.occupancy -= 1
        self._slots.release()

    async def accept(self, signal: Signal, scope: ConfigScope | None = None) -> None:
        await self._take_slot()
        prewritten: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._in_background(signal, prewritten, scope), name=f"copy:{signal.key}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(prewritten)

    async def process(self, signal: Signal) -> P | None:
        """Prepare and execute one signal, awaited whole (in order with the background work)."""
        async with self._locks.hold((signal.leader, signal.asset, None)):
            prepared = await self._prepare(signal, None)
            if prepared is not None:
                await self._execute(prepared)
            return prepared

    async def _in_background(
        self, signal: Signal, prewritten: asyncio.Future[None], scope: ConfigScope | None
    ) -> None:
        recorded = False
        try:
            async with self._locks.hold((signal.leader, signal.asset, scope)):
                try:
                    prepared = await self._prepare(signal, scope)
                except BaseException as exc:
                    prewritten.set_exception(exc)
                    raise
                prewritten.set_result(None)
                recorded = True
                if prepared is not None:
                    await self._execute(prepared)
        except asyncio.CancelledError:
            if not prewritten.done():
                prewritten.cancel()
            raise
        except Exception:  # noqa: BLE001 - recorded rows are durable; the sweep settles what is left
            if recorded:  # one that failed before it was recorded went back to the source with its error
                log.exception("copies of a recorded signal failed", signal=signal.key)
        finally:
            self._free_slot()

    async def drain(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for background work; what is still running then is cancelled (its
        copies stay PENDING for the sweep, as after a crash). Returns how many were cut off."""
        return await drain_tasks(self._background, timeout_s)
