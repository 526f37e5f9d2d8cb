"""Fixtures for the simulator integration tests: an in-process SimServer on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from polyhunter.sim.server_app import SimServer

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "polymarket"
if not FIXTURES.is_dir():  # the project root is /work/main; fixtures live in /work/shared
    FIXTURES = Path("/work/shared/fixtures/polymarket")

ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(
        scenario="quiet", seed=11, port=0, mined_delay_s=0.05, confirmed_delay_s=0.1
    ) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def scenario(http: aiohttp.ClientSession, server: SimServer) -> dict[str, object]:
    async with http.get(server.urls["admin"] + "/scenario") as resp:
        assert resp.status == 200
        data: dict[str, object] = await resp.json()
        return data
