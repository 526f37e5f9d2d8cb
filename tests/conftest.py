"""Settings of the whole test run."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Started from a background job (`pytest ... &`, nohup, some CI runners), pytest inherits SIGINT ignored,
    and an ignored signal stays ignored in every child it spawns: `polyhunter run` / `watch` would not stop
    on the SIGINT a test sends them. A handled signal is reset to its default at exec, so handling it here
    gives the children a working Ctrl-C again (tests still escalate to SIGTERM / SIGKILL, tests/support/
    processes.py)."""
    del config
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
