"""Fixtures of the ingestion end-to-end tests: a fresh anvil (from node_modules), engines disposed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.sim.anvil import AnvilProcess
from tests.support.chain_tools import require_chain_tools


@pytest.fixture
def anvil_url() -> Iterator[str]:
    require_chain_tools()
    with AnvilProcess() as anvil:
        yield anvil.url


@pytest.fixture
async def engines() -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()
