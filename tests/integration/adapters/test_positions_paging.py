"""``/positions`` is read in pages: a leader with more than 500 positions (the venue's page size) is
read in full, against a loopback Data API that pages like the live one (limit clamped to 500, offset
at most 10,000); the number of pages is bounded by ``venue.positions_max_pages``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from tests.support.loopback_http import serve_app

pytestmark = pytest.mark.integration

LEADER = "0x" + "ab" * 20


def _row(n: int) -> dict[str, Any]:
    return {
        "proxyWallet": LEADER,
        "asset": str(10**20 + n),
        "conditionId": f"0x{n:064x}",
        "size": 1000 - n * 0.01,
        "avgPrice": 0.5,
        "initialValue": 5,
        "currentValue": 6,
        "cashPnl": 1,
        "percentPnl": 20,
        "totalBought": 10,
        "realizedPnl": 0,
        "percentRealizedPnl": 0,
        "curPrice": 0.6,
        "redeemable": False,
        "mergeable": False,
    }


class PositionsApi:
    def __init__(self, count: int) -> None:
        self.rows = [_row(n) for n in range(count)]
        self.requests: list[tuple[int, int]] = []

    async def positions(self, request: web.Request) -> web.Response:
        limit = min(int(request.query.get("limit", "100")), 500)
        offset = int(request.query.get("offset", "0"))
        self.requests.append((limit, offset))
        if offset > 10_000:
            return web.json_response({"error": "max offset exceeded"}, status=400)
        return web.json_response(self.rows[offset : offset + limit])


@asynccontextmanager
async def serve(count: int) -> AsyncIterator[tuple[PositionsApi, str]]:
    api = PositionsApi(count)
    app = web.Application()
    app.router.add_get("/positions", api.positions)
    async with serve_app(app) as url:
        yield api, url


@pytest.mark.parametrize("count", [0, 499, 500, 1234])
async def test_every_position_is_read_page_by_page(count: int) -> None:
    async with serve(count) as (api, url):
        client = DataApiClient(url)
        try:
            positions = await client.positions(LEADER)
        finally:
            await client.close()
    assert [p.asset for p in positions] == [r["asset"] for r in api.rows]
    pages = count // 500 + 1
    assert api.requests == [(500, 500 * n) for n in range(pages)]


async def test_paging_stops_at_the_page_bound() -> None:
    async with serve(1600) as (api, url):
        client = DataApiClient(url, positions_max_pages=2)
        try:
            positions = await client.positions(LEADER)
        finally:
            await client.close()
    assert len(positions) == 1000
    assert api.requests == [(500, 0), (500, 500)]
