"""Chain fixtures: an RPC client of the test's anvil (`anvil_url`, tests/conftest.py) and a deployed FillMirror."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.sim.chain_mirror import ChainMirror

pytestmark = pytest.mark.integration


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
