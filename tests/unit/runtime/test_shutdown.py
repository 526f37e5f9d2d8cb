"""ShutdownSignals and run_until: the first SIGTERM/SIGINT asks for a drain (no exit), the handlers go
away with the context; run_until cancels its work on request and lets its cleanup run.
(A second signal exiting at once is checked end to end in tests/e2e/test_sigterm_drain.py.)"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess  # noqa: S404 - runs a script of this test
import sys

import pytest

from polyhunter.runtime.shutdown import ShutdownSignals, run_until


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_first_signal_requests_a_drain(sig: signal.Signals) -> None:
    loop = asyncio.get_running_loop()
    with ShutdownSignals(5.0) as shutdown:
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(shutdown.requested.wait(), 5)
        assert shutdown.signal is sig
    assert not loop.remove_signal_handler(sig)  # the context removed its handler


async def test_run_until_cancels_the_work_and_waits_for_its_cleanup() -> None:
    cleaned = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # a drain
            cleaned.set()

    requested = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, requested.set)
    await asyncio.wait_for(run_until(work(), requested), 5)
    assert cleaned.is_set()


async def test_run_until_raises_the_works_error() -> None:
    async def work() -> None:
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        await run_until(work(), asyncio.Event())


OVERRUN_SCRIPT = """
import asyncio, os, signal
from polyhunter.runtime import shutdown

shutdown.OVERRUN_S = 0.2

async def client_that_never_closes():
    await asyncio.Event().wait()

async def main():
    with shutdown.ShutdownSignals(0.0) as stop:
        asyncio.create_task(client_that_never_closes(), name="hung-close")
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.requested.wait()
        await asyncio.Event().wait()  # the drain never ends

asyncio.run(main())
"""


def test_an_overrun_drain_exits_70_and_writes_where_each_task_waits() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", OVERRUN_SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 70, done.stderr
    assert "drain overran its grace" in done.stderr + done.stdout
    assert "--- task hung-close (not done), awaiting ---" in done.stderr
    assert "client_that_never_closes" in done.stderr
    assert "--- threads ---" in done.stderr
    assert "Current thread" in done.stderr
