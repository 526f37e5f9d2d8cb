"""Separate hosts on one machine for the cluster tests: a network namespace per worker, each with its own
address on a bridge, reaching the shared services over that network.

`NetLab` makes a Linux bridge with a private /24 (random, so concurrent runs do not collide) and, per
host, a namespace joined to it by a veth pair. The shared PostgreSQL and Redis listen on 127.0.0.1 only
(and must not be restarted or reconfigured), so `Forwarder` listens on the bridge address and forwards
each connection to the loopback service: a worker in a namespace reaches them at the bridge address, over
its veth, as it would another host. Everything made is removed on exit. Needs root (CAP_NET_ADMIN);
`NetLab.available()` says whether it can run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess  # noqa: S404 - `ip`, for the test's own namespaces
import threading
import uuid
from types import TracebackType


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)  # noqa: S603, S607 - fixed arguments


class NetLab:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.bridge = f"phbr{tag}"
        octet = int(tag[:2], 16) % 200 + 20
        self.subnet = f"10.{octet}.{int(tag[2:4], 16)}"
        self.gateway = f"{self.subnet}.1"
        self._hosts: list[str] = []

    @staticmethod
    def available() -> bool:
        if os.geteuid() != 0:
            return False
        name = f"phprobe{uuid.uuid4().hex[:6]}"
        try:
            _ip("netns", "add", name)
        except (OSError, subprocess.CalledProcessError):
            return False
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            _ip("netns", "del", name)
        return True

    def __enter__(self) -> NetLab:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        return self

    def add_host(self, index: int) -> tuple[list[str], str]:
        """A namespace with address .(10 + index); returns the command prefix that runs in it and the address."""
        ns = f"ph{self.tag}h{index}"
        veth, peer = f"ph{self.tag}v{index}", f"ph{self.tag}p{index}"
        address = f"{self.subnet}.{10 + index}"
        _ip("netns", "add", ns)
        self._hosts.append(ns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
        _ip("link", "set", veth, "master", self.bridge)
        _ip("link", "set", veth, "up")
        _ip("link", "set", peer, "netns", ns)
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", peer)
        _ip("-n", ns, "link", "set", peer, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        return ["ip", "netns", "exec", ns], address

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for ns in self._hosts:  # the veth pairs go with their namespace
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", ns)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.bridge)


class Forwarder:
    """TCP forwarding from (`host`, a free port) to 127.0.0.1:`upstream`, one per service, served by an
    event loop in a thread of its own. `ports[upstream]` is where each listens."""

    def __init__(self, host: str, upstreams: list[int]) -> None:
        self._host = host
        self._upstreams = upstreams
        self.ports: dict[int, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> Forwarder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        for upstream in self._upstreams:
            server = await asyncio.start_server(
                functools.partial(self._accept, upstream=upstream), self._host, 0, backlog=512
            )
            self._servers.append(server)
            self.ports[upstream] = int(server.sockets[0].getsockname()[1])

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: int
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            writer.close()
            up_writer.close()
            self._tasks.discard(task)

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
