"""A Redis server of the test's own on a free port (no persistence): stopping or restarting it disturbs
nobody else's tests (never the shared 6379)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from contextlib import suppress
from pathlib import Path

import pytest
from redis.asyncio import Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A Redis of the test's own (no persistence), so stopping it disturbs nobody else's tests."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.url = f"redis://127.0.0.1:{port}/0"
        self._port, self._workdir = port, workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server not installed")
        args = [binary, "--bind", "127.0.0.1", "--port", str(self._port), "--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen([*args, "--dir", str(self._workdir)], stdout=subprocess.DEVNULL)  # noqa: S603

    async def start(self) -> None:
        self._spawn()
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):
                with suppress(Exception):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
            raise AssertionError(f"redis at {self.url} did not start")
        finally:
            await client.aclose()

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
