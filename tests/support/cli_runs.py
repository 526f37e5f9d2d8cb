"""The CLI as processes, for the end-to-end tests: `polyhunter sim` started in a session of its own (its
URL line read), the environment of a `polyhunter run` pointed at it, `polyhunter run` started and waited
for, waits that check all along that the process under test is up, and the sim's admin API.

Every process starts with ``start_new_session=True`` (so a test also works from a background job, whose
children ignore SIGINT) and is stopped with :func:`tests.support.processes.stop_process`.
"""

from __future__ import annotations

import json
import os
import subprocess  # noqa: S404 - the tests' own CLI
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.processes import stop_process

CLI = [sys.executable, "-m", "polyhunter.cli"]
READY_S = 60  # `polyhunter run` starts in ~3 s idle, ~10 s on a loaded 2-core machine
SIM_READY_S = 120


def admin(base: str, path: str, body: Any = None) -> Any:
    """GET (no body) or POST (a JSON body) ``base + path`` and return the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - the local simulator
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the local simulator
        return json.loads(resp.read())


def get_json(url: str) -> Any:
    return admin(url, "")


@contextmanager
def sim_process(tmp: Path, *args: str, log_name: str = "sim.log") -> Iterator[dict[str, str]]:
    """`polyhunter sim --port 0 ARGS...` until the block ends; yields its URLs (the JSON line it prints
    once listening). Its stderr goes to ``tmp / log_name``."""
    with (tmp / log_name).open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "sim", "--port", "0", *args], stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"polyhunter sim exited ({proc.wait()}) before listening; see {tmp / log_name}"
        urls: dict[str, str] = json.loads(line)
        yield urls
    finally:
        stop_process(proc, timeout_s=30)
        if proc.stdout is not None:
            proc.stdout.close()


def setting_env(settings: Mapping[str, object]) -> dict[str, str]:
    """``{"engine.pending_ttl_s": 2}`` -> ``{"POLYHUNTER__ENGINE__PENDING_TTL_S": "2"}``."""
    return {"POLYHUNTER__" + key.replace(".", "__").upper(): str(value) for key, value in settings.items()}


def run_env(
    urls: Mapping[str, str],
    db: Path,
    settings: Mapping[str, object] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a `polyhunter run` against the venue at ``urls`` (the sim's, or a loopback
    Data API / RTDS in their place) on the SQLite file ``db``: memory coordination, HYBRID without the
    chain, the API on a free port; ``settings`` (``SECTION.KEY`` -> value) on top; ``extra`` env vars
    (follower keys). The test's own ``POLYHUNTER*`` variables are not passed on."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env.update(extra or {})
    env.update(
        setting_env(
            {
                "venue.clob_url": urls["clob"],
                "venue.data_api_url": urls["data_api"],
                "venue.gamma_url": urls["gamma"],
                "venue.clob_ws_url": urls["clob_ws"],
                "venue.rtds_ws_url": urls["rtds_ws"],
                "db.url": f"sqlite+aiosqlite:///{db}",
                "coord.backend": "memory",
                "ingest.mode": "HYBRID",
                "ingest.chain_in_hybrid": "false",
                "api.port": 0,
                **(settings or {}),
            }
        )
    )
    return env


def wait_until(
    what: str,
    cond: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    limit_s: float = 30,
    step_s: float = 0.1,
) -> None:
    """Wait for ``cond``, checking all along that ``proc`` is up."""
    deadline = time.monotonic() + limit_s
    while not cond():
        assert proc.poll() is None, f"the process exited ({proc.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {limit_s}s"
        time.sleep(step_s)


def start_run(
    args: list[str], env: dict[str, str], log: Path, cwd: Path, ready_s: float = READY_S
) -> subprocess.Popen[bytes]:
    """Start `polyhunter run ARGS...` (output to ``log``) and return once its supervisor is up (the API
    listens last)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "run", *args], env=env, cwd=cwd, stdout=out, stderr=out, start_new_session=True
        )
    try:
        wait_until(f"api listening (see {log})", lambda: b"api listening" in log.read_bytes(), proc, ready_s)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def api_url(log: Path) -> str:
    """The URL of the run's API, from its (JSON) `api listening` log line."""
    line = next(x for x in log.read_text().splitlines() if "api listening" in x)
    return str(json.loads(line)["url"])
