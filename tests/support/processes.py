"""Stopping the processes a test starts (`polyhunter run` / `sim` / `watch`), also under a background job.

A shell without job control (`pytest ... &`, CI runners, nohup) starts a background job with SIGINT ignored,
and an ignored signal stays ignored across exec: a child stopped with SIGINT alone never stops there. So a
stop sends the polite signal first (SIGINT for the commands that stop on Ctrl-C, SIGTERM otherwise), then
SIGTERM, then SIGKILL, each after ``timeout_s``. ``tests/conftest.py`` also restores SIGINT for the test run,
so the polite signal works from a background job too.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess  # noqa: S404 - stops the test's own child processes


def _escalation(first: int) -> list[int]:
    return list(dict.fromkeys([first, signal.SIGTERM, signal.SIGKILL]))


def stop_process(
    proc: subprocess.Popen[bytes], *, first: int = signal.SIGTERM, timeout_s: float = 15.0
) -> int:
    """Stop ``proc`` (polite signal, then SIGTERM, then SIGKILL) and return its exit code."""
    for sig in _escalation(first):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


async def stop_async_process(
    proc: asyncio.subprocess.Process, *, first: int = signal.SIGTERM, timeout_s: float = 15.0
) -> int:
    """:func:`stop_process` for a process started with ``asyncio.create_subprocess_exec``."""
    for sig in _escalation(first):
        if proc.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            continue
    return await proc.wait()
