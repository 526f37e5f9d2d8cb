"""Start and stop a local anvil chain (from ``node_modules``) for the simulator and the chain tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess  # noqa: S404 - runs the local anvil binary with fixed arguments
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from polyhunter.sim.chain_build import NODE_BIN, REPO_ROOT

_LISTENING = re.compile(r"Listening on ([0-9.]+):(\d+)")
_NATIVE = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


class AnvilError(RuntimeError):
    pass


def anvil_path() -> Path:
    """The anvil executable: the native binary of the npm package when present, else the npm wrapper."""
    if _NATIVE.exists():
        return _NATIVE
    wrapper = NODE_BIN / "anvil"
    if not wrapper.exists():
        raise AnvilError(f"anvil not found in {NODE_BIN}: run make node")
    return wrapper


class AnvilProcess:
    """``with AnvilProcess() as anvil: anvil.url`` — a fresh chain on a free port, killed on exit."""

    def __init__(
        self,
        *,
        port: int = 0,
        chain_id: int = 31337,
        block_time_s: int | None = None,
        start_timeout_s: float = 30.0,
        binary: Path | None = None,
    ) -> None:
        self._binary = binary or anvil_path()
        self._args = ["--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id)]
        if block_time_s is not None:
            self._args += ["--block-time", str(block_time_s)]
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        if self._process is not None:
            return self.url
        # stdout goes to a file, not a pipe: anvil logs every request and a full pipe would stall it
        self._log = tempfile.NamedTemporaryFile(prefix="anvil-", suffix=".log", delete=False)  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed local binary
            [str(self._binary), *self._args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: the npm wrapper's child dies with it
        )
        try:
            self.url = self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self.url

    @property
    def log_path(self) -> Path | None:
        return Path(self._log.name) if self._log is not None else None

    def _wait_listening(self) -> str:
        log_path, process = self.log_path, self._process
        if process is None or log_path is None:
            raise AnvilError("anvil is not running")
        deadline = time.monotonic() + self._start_timeout_s
        output = ""
        while time.monotonic() < deadline:
            output = log_path.read_text(errors="replace")
            found = _LISTENING.search(output)
            if found:
                return f"http://{found.group(1)}:{found.group(2)}"
            if process.poll() is not None:
                break
            time.sleep(0.02)
        raise AnvilError(f"anvil did not start: {output[-500:]}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log_file, self._log = self._log, None
        if log_file is not None:
            log_file.close()
            Path(log_file.name).unlink(missing_ok=True)

    def __enter__(self) -> AnvilProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
