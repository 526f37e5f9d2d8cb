"""Fixtures of the ingestion end-to-end tests: a fresh anvil (from node_modules), engines disposed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.sim.anvil import AnvilError, AnvilProcess, anvil_path
from polyhunter.sim.chain_build import ChainBuildError, solcjs_path


@pytest.fixture
def anvil_url() -> Iterator[str]:
    try:
        anvil_path()
        solcjs_path()
    except (AnvilError, ChainBuildError) as exc:
        pytest.skip(f"chain tools missing ({exc}); `make node` installs them")
    with AnvilProcess() as anvil:
        yield anvil.url


@pytest.fixture
async def engines() -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()
