"""A TCP proxy that can stall, or cut its connections: while paused it accepts connections and reads nothing further, forwarding
no byte either way (a database that stops answering without closing anything); resumed, the held
bytes flow again. Used to stall one process's PostgreSQL connections without touching the server."""

from __future__ import annotations

import asyncio
import contextlib


class StallingTcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._host, self._port = upstream_host, upstream_port
        self._server: asyncio.Server | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def pause(self) -> None:
        """Stall: no byte crosses in either direction, new connections are held unconnected."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def drop_connections(self) -> int:
        """Close every connection open now (both sides), as a network cut would; new ones are accepted."""
        writers = list(self._writers)
        for writer in writers:
            writer.close()
        return len(writers)

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            await self._open.wait()
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()
                self._writers.discard(w)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                await self._open.wait()
                data = await reader.read(65536)
                if not data:
                    return
                await self._open.wait()  # read before the stall began: held until it ends
                writer.write(data)
                await writer.drain()

    async def stop(self) -> None:
        self._open.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
