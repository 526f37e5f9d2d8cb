"""Fixtures for the simulator integration tests: an in-process SimServer on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from polyhunter.sim.server_app import SimServer


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
