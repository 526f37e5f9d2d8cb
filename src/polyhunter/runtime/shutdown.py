"""SIGTERM and SIGINT in a long-running command: the first asks for a drain, a second exits at once.

`ShutdownSignals` installs its handlers on the running loop (`loop.add_signal_handler`), so a service
stop (SIGTERM) or Ctrl-C (SIGINT, also delivered when a parent sends it to a background job's
children) sets `requested`; the command's run loop then stops intake, lets what is in flight finish
within `engine.shutdown_grace_s`, closes its clients and returns (exit 0). A second signal while the
drain runs exits the process at once with 128 + the signal number. If the drain overruns its grace by
more than `OVERRUN_S` (a client that never closes), the process exits with `OVERRUN_EXIT`, after writing
to stderr where every task and thread was waiting (`dump_stuck`), so the cause is in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TextIO

from polyhunter.log import get_logger

log = get_logger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)
OVERRUN_S = 20.0  # past the grace: the mux's last hand-offs, closing clients, a summary
OVERRUN_EXIT = 70  # EX_SOFTWARE: the drain did not end in time


def _await_chain(coro: Any, limit: int = 40) -> list[str]:
    """Where a suspended coroutine waits, outermost first: each frame of its `await` chain (a task's own
    stack shows only the outermost one)."""
    out: list[str] = []
    while coro is not None and len(out) < limit:
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "gi_frame", None)
            or getattr(coro, "ag_frame", None)
        )
        if frame is not None:
            out.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        nxt = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
        if nxt is None and coro is not None and not hasattr(coro, "cr_frame"):
            out.append(f"  {coro!r}")  # a future or a foreign awaitable: the end of the chain
        coro = nxt
    return out


def dump_stuck(out: TextIO | None = None) -> int:
    """Write the stack of every unfinished asyncio task of the running loop, then of every thread, to
    `out` (stderr); return how many tasks were written."""
    stream = sys.stderr if out is None else out
    tasks = [t for t in asyncio.all_tasks() if not t.done()]
    current = asyncio.current_task()
    for task in sorted(tasks, key=lambda t: t.get_name()):
        if task is current:
            continue
        with contextlib.suppress(Exception):
            print(f"--- task {task.get_name()} (not done), awaiting ---", file=stream)
            for line in _await_chain(task.get_coro()):
                print(line, file=stream)
    with contextlib.suppress(Exception):
        stream.flush()
        print("--- threads ---", file=stream, flush=True)
        faulthandler.dump_traceback(file=stream, all_threads=True)
    return len(tasks)


def _exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


class ShutdownSignals:
    """Use as `with ShutdownSignals(grace_s) as shutdown:` inside the running loop; await
    `shutdown.requested.wait()` (or pass `shutdown.requested` to `Supervisor.run`)."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.requested = asyncio.Event()
        self.signal: signal.Signals | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    def __enter__(self) -> ShutdownSignals:
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._loop is not None and not self._loop.is_closed():
            for sig in SIGNALS:
                self._loop.remove_signal_handler(sig)
        self._loop = None

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.requested.is_set():
            log.error("second signal during the drain; exiting without finishing it", signal=sig.name)
            _exit_now(128 + sig.value)
            return
        self.signal = sig
        log.info("shutdown requested; draining", signal=sig.name, grace_s=self.grace_s)
        self.requested.set()
        assert self._loop is not None
        self._watchdog = self._loop.call_later(self.grace_s + OVERRUN_S, self._overrun)

    def _overrun(self) -> None:
        log.error("drain overran its grace; exiting", grace_s=self.grace_s, overrun_s=OVERRUN_S)
        with contextlib.suppress(Exception):
            dump_stuck()
        _exit_now(OVERRUN_EXIT)


async def run_until(work: Coroutine[Any, Any, None], requested: asyncio.Event) -> None:
    """Run `work` until it ends (its error raised here) or `requested` is set; then cancel it and wait
    for its cleanup (a `finally` that drains and closes)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(requested.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if not task.cancelled():
        task.result()
