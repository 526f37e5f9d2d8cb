"""HeapTrimmer: glibc's malloc_trim gives freed C-heap pages back, off the event loop, on a timer."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import weakref

import pytest

from polyhunter.runtime.heap_trim import HeapTrimmer, load_malloc_trim

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


async def test_trim_gives_freed_heap_pages_back() -> None:
    """Free 15 of every 16 chunks of ~190 MB of malloc'd memory: the holes are not at the heap's top,
    so glibc keeps them until trimmed. One trim returns most of them to the OS."""
    trimmer = HeapTrimmer(20.0)
    if not trimmer.available:
        pytest.skip("no malloc_trim in this C library")
    chunks = [bytes(2048) + bytes([i % 256]) for i in range(100_000)]  # > 512 B: malloc, not pymalloc
    kept = chunks[::16]
    del chunks
    before = rss_bytes()
    assert await trimmer.trim_once()
    after = rss_bytes()
    assert before - after > 100 * 1024 * 1024, (before, after)
    assert (trimmer.runs, trimmer.released) == (1, 1)
    assert len(kept) == 6_250


async def test_runs_on_a_timer_in_a_worker_thread() -> None:
    threads: list[str] = []

    def trim(pad: int) -> int:
        assert pad == 0
        threads.append(threading.current_thread().name)
        return 0

    trimmer = HeapTrimmer(0.01, trim)
    task = asyncio.create_task(trimmer.run())
    for _ in range(200):
        if trimmer.runs >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert trimmer.runs >= 3
    assert trimmer.released == 0
    assert threading.main_thread().name not in threads


async def test_interval_zero_turns_it_off() -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    trimmer = HeapTrimmer(0, trim)
    assert not trimmer.available
    await asyncio.wait_for(trimmer.run(), 1)  # returns at once
    assert calls == []


def test_glibc_malloc_trim_is_found_here() -> None:
    trim = load_malloc_trim()
    assert trim is not None  # Debian's glibc has it; elsewhere HeapTrimmer just does nothing
    assert trim(0) in (0, 1)


async def test_each_round_collects_garbage_in_cycles_first() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only a collection frees it

    alive = weakref.WeakSet[Node]()
    gc.disable()  # no automatic collection in between: only the trimmer's
    try:
        for _ in range(100):
            alive.add(Node())
        assert len(alive) == 100
        trimmer = HeapTrimmer(0.01, lambda _pad: 0)
        task = asyncio.create_task(trimmer.run())
        for _ in range(500):
            if trimmer.runs >= 1:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        gc.enable()
    assert trimmer.runs >= 1
    assert len(alive) == 0
    assert trimmer.collected >= 100
