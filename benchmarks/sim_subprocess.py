"""The simulator in its own process (`polyhunter sim`) for the benchmarks that run a supervisor against
it, as the venue is to a running supervisor: its CPU time is not the engine's."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

START_S = 180  # a loaded machine can take a minute and more to import and start it


@asynccontextmanager
async def sim_process(*args: str) -> AsyncIterator[dict[str, str]]:
    """Start `polyhunter sim *args` (logging at WARNING, stderr discarded); yields the JSON map of its
    URLs (its first stdout line); terminated (then killed) on the way out."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from polyhunter.cli import main; main()",
        "sim",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "POLYHUNTER__LOGGING__LEVEL": "WARNING"},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_S)
        if not line:
            raise RuntimeError(f"the simulator exited before it started (code {await proc.wait()})")
        yield dict(json.loads(line))
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
