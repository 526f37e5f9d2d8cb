"""Serve the API inside the running event loop (uvicorn, no signal handlers of its own)."""

from __future__ import annotations

import asyncio
import errno
import socket

import uvicorn
from fastapi import FastAPI


class ApiPortError(Exception):
    """The API cannot listen where the settings say (port in use, address not local): one line."""


def bind_api_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or ApiPortError naming the setting to change."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise ApiPortError(
                f"API port {host}:{port} is in use (api.port): {reason}; stop the other process"
                " or choose another api.port"
            ) from None
        raise ApiPortError(
            f"API address {host}:{port} cannot be used (api.host, api.port): {reason}"
        ) from None
    return sock


def check_api_port(host: str, port: int) -> None:
    """Fail early (before migrating or starting anything) when the API could not listen."""
    if port:
        bind_api_socket(host, port).close()


class ApiServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._sock = bind_api_socket(host, port)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        # An open event stream (the dashboard's) must not hold the shutdown: 1 s, then it is cut.
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # `_serve` is `serve` without uvicorn's signal capture: the process owner handles signals.
        self._task = asyncio.create_task(self._server._serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
