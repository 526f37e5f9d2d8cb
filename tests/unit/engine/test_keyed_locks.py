"""Per-key locks: one holder per key at a time, in arrival order; other keys run alongside; an idle key
leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib

from polyhunter.engine.keyed_locks import KeyedLocks


async def test_one_key_runs_in_order_other_keys_alongside() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    log: list[str] = []
    gate = asyncio.Event()

    async def work(key: str, name: str, wait: bool) -> None:
        async with locks.hold(key):
            log.append(f"{name}+")
            if wait:
                await gate.wait()
            log.append(f"{name}-")

    first = asyncio.create_task(work("a", "a1", True))
    second = asyncio.create_task(work("a", "a2", False))
    other = asyncio.create_task(work("b", "b1", False))
    await asyncio.sleep(0.01)
    assert log == ["a1+", "b1+", "b1-"]  # a2 waits for a1; b is not held up
    assert len(locks) == 1
    gate.set()
    await asyncio.gather(first, second, other)
    assert log[3:] == ["a1-", "a2+", "a2-"]
    assert len(locks) == 0


async def test_a_failing_holder_releases_the_key() -> None:
    locks: KeyedLocks[str] = KeyedLocks()

    async def boom() -> None:
        async with locks.hold("k"):
            raise RuntimeError("x")

    for _ in range(2):
        with contextlib.suppress(RuntimeError):
            await boom()
    assert len(locks) == 0
    async with locks.hold("k"):
        assert len(locks) == 1
