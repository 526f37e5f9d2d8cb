"""Chain fixtures: a fresh anvil per test (from node_modules) and a deployed FillMirror."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_mirror import ChainMirror
from tests.support.chain_tools import require_chain_tools

pytestmark = pytest.mark.integration


@pytest.fixture
def anvil_url() -> Iterator[str]:
    require_chain_tools()
    with AnvilProcess() as anvil:
        yield anvil.url


@pytest.fixture
async def rpc(anvil_url: str) -> AsyncIterator[JsonRpcClient]:
    async with JsonRpcClient(anvil_url) as client:
        yield client


@pytest.fixture
async def mirror(anvil_url: str) -> AsyncIterator[ChainMirror]:
    chain_mirror = ChainMirror(anvil_url, shape="legs")  # the event-field calls (matchV2 / matchV1)
    await chain_mirror.start()
    yield chain_mirror
    await chain_mirror.close()
