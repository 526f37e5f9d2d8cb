"""Hand freed C-heap memory back to the operating system, now and then.

A supervisor allocates and frees steadily (JSON frames, SQLAlchemy rows, HTTP buffers). glibc's
allocator keeps freed chunks in its arenas for reuse and returns the top of a heap only, so the
process's RSS creeps up although the Python heap does not grow (tracemalloc showed it flat): a
10-minute demo grew 1.4 MiB after minute 2 (143.2 -> 144.7 MiB). ``malloc_trim(0)`` returns every
free page of every arena; run every 20 s the same demo stayed within 0.1 MiB (136.4 -> 136.5 MiB).

The call walks the arenas under their locks, so it runs in a worker thread (ctypes releases the GIL
for the call): the event loop is not held. On a C library without ``malloc_trim`` (musl, macOS) the
trimmer does nothing.

Each round first runs a full garbage collection (on the loop: the collector needs the GIL). The
supervisor's collector thresholds (runtime/gc_tuning.py) make full collections rare, and garbage in
reference cycles that lived through two young collections (a statement built while a copy awaited the
database) waited for one: in the overload benchmark (1,000 copies/s) 70,000 such objects piled up in
30 s and RSS rose 7.5 MiB a minute, steadily. A collection every round bounds how long they wait.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

from polyhunter.log import get_logger
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)


def load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class HeapTrimmer:
    def __init__(self, interval_s: float, trim: Callable[[int], int] | None = None) -> None:
        self.interval_s = interval_s
        self._trim = trim if trim is not None else load_malloc_trim()
        self.runs = 0
        self.released = 0  # calls that gave memory back
        self.last_ms = 0.0
        self.collected = 0  # objects the full collections freed
        self.last_gc_ms = 0.0

    @property
    def available(self) -> bool:
        return self._trim is not None and self.interval_s > 0

    def collect(self) -> int:
        """A full garbage collection (on the calling thread); the objects it freed."""
        started = time.perf_counter()
        freed = gc.collect()
        self.last_gc_ms = (time.perf_counter() - started) * 1000
        self.collected += freed
        return freed

    async def trim_once(self) -> bool:
        """One trim in a worker thread; True if memory was given back."""
        if self._trim is None:
            return False
        started = time.perf_counter()
        released = bool(await asyncio.to_thread(self._trim, 0))
        self.last_ms = (time.perf_counter() - started) * 1000
        self.runs += 1
        self.released += released
        return released

    async def run(self) -> None:
        """Trim every ``interval_s`` until cancelled; returns at once when disabled or unavailable."""
        if not self.available:
            log.debug("heap trimming off", interval_s=self.interval_s, malloc_trim=self._trim is not None)
            return
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            await asyncio.sleep(self.interval_s)
            self.collect()
            await self.trim_once()
