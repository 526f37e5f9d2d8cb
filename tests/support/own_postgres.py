"""A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary directory, on a free port, trust
auth on 127.0.0.1 with the current user as superuser, fsync off): a test may stop and start it at will without disturbing anybody else's
tests (never the shared server on 5432).

PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` system user and its
commands run through `runuser`. Skips the test when no PostgreSQL server binaries are installed."""

from __future__ import annotations

import asyncio
import getpass
import os
import pwd
import shutil
import subprocess  # noqa: S404 - initdb / pg_ctl
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

import asyncpg
import pytest

from tests.support.own_redis import free_port

START_S = 60


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class OwnPostgres:
    """`start()` creates the cluster the first time; `stop()` is a fast shutdown (open connections are
    cut, as when a database server goes down); `start()` again brings it back with its data."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
        self._bin = bin_dir
        self.port = free_port()
        self._root = Path(tempfile.mkdtemp(prefix="ph-own-pg-"))
        self._data = self._root / "data"
        self._log = self._root / "server.log"
        self._user: str | None = None
        self._superuser = getpass.getuser()  # so URLs without a user name work, as on the shared server
        if os.geteuid() == 0:
            self._user = "postgres"
            try:
                owner = pwd.getpwnam(self._user)
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
            os.chown(self._root, owner.pw_uid, owner.pw_gid)
        self._created = False
        self.running = False

    @property
    def dsn(self) -> str:
        return f"postgresql://127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one of its databases (what `polyhunter` is configured with)."""
        return f"postgresql+asyncpg://127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, args: Sequence[str], timeout_s: float = START_S) -> None:
        cmd = [str(self._bin / tool), *args]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603
        if done.returncode != 0:
            out = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
            log = self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""
            raise AssertionError(f"{tool} {' '.join(args[:2])} failed ({done.returncode}): {out}\n{log}")

    def _start(self) -> None:
        if not self._created:
            self._run("initdb", ["-D", str(self._data), "-A", "trust", "-U", self._superuser, "-E", "UTF8"])
            self._created = True
        options = f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=200 -c full_page_writes=off -c synchronous_commit=off"
        self._run("pg_ctl", ["-D", str(self._data), "-l", str(self._log), "-o", options, "-w", "start"])
        self.running = True

    async def start(self) -> None:
        """Create (first time) and start the cluster; returns once it accepts connections."""
        await asyncio.to_thread(self._start)
        deadline = time.monotonic() + START_S
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
            except (OSError, asyncpg.PostgresError):
                assert time.monotonic() < deadline, f"own PostgreSQL not up on {self.port}; see {self._log}"
                await asyncio.sleep(0.1)
                continue
            await conn.close()
            return

    async def stop(self) -> None:
        """Fast shutdown: every open connection is cut, new ones are refused until `start()`."""
        self.running = False
        await asyncio.to_thread(self._run, "pg_ctl", ["-D", str(self._data), "-m", "fast", "-w", "stop"])

    async def create_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    def close(self) -> None:
        """Stop it (immediate) if running and remove its files."""
        if self._data.exists():
            with suppress(AssertionError, subprocess.TimeoutExpired):
                self._run("pg_ctl", ["-D", str(self._data), "-m", "immediate", "-w", "stop"], 30)
        self.running = False
        shutil.rmtree(self._root, ignore_errors=True)
