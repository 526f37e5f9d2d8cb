"""Chain fixtures: a fresh anvil per test (from node_modules) and a deployed FillMirror."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.sim.anvil import AnvilError, AnvilProcess, anvil_path
from polyhunter.sim.chain_build import ChainBuildError, solcjs_path
from polyhunter.sim.chain_mirror import ChainMirror

pytestmark = pytest.mark.integration


def _tools_or_skip() -> None:
    try:
        anvil_path()
        solcjs_path()
    except (AnvilError, ChainBuildError) as exc:
        pytest.skip(f"chain tools missing ({exc}); `make test` / `make node` installs them")


@pytest.fixture
def anvil_url() -> Iterator[str]:
    _tools_or_skip()
    with AnvilProcess() as anvil:
        yield anvil.url


@pytest.fixture
async def rpc(anvil_url: str) -> AsyncIterator[JsonRpcClient]:
    async with JsonRpcClient(anvil_url) as client:
        yield client


@pytest.fixture
async def mirror(anvil_url: str) -> AsyncIterator[ChainMirror]:
    chain_mirror = ChainMirror(anvil_url)
    await chain_mirror.start()
    yield chain_mirror
    await chain_mirror.close()
