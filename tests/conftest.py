"""Settings of the whole test run."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.sim.anvil import AnvilProcess
from tests.support.chain_tools import require_chain_tools

# Property tests run on loaded machines (CI, other jobs on two cores): a per-example deadline or the
# "too slow" health check would fail a correct test for the machine's speed, so neither applies anywhere.
hypothesis_settings.register_profile(
    "polyhunter", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
hypothesis_settings.load_profile("polyhunter")


def pytest_configure(config: pytest.Config) -> None:
    """Started from a background job (`pytest ... &`, nohup, some CI runners), pytest inherits SIGINT ignored,
    and an ignored signal stays ignored in every child it spawns: `polyhunter run` / `watch` would not stop
    on the SIGINT a test sends them. A handled signal is reset to its default at exec, so handling it here
    gives the children a working Ctrl-C again (tests still escalate to SIGTERM / SIGKILL, tests/support/
    processes.py)."""
    del config
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def anvil_url() -> Iterator[str]:
    """A fresh anvil (from node_modules) for one test; skipped where the chain tools are missing."""
    require_chain_tools()
    with AnvilProcess() as anvil:
        yield anvil.url


@pytest.fixture
async def engines() -> AsyncIterator[list[AsyncEngine]]:
    """Database engines a test makes, disposed at its end."""
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()
