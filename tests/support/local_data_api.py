"""A local Data API ``GET /activity`` for the ingest service tests: ``user``, ``start`` (inclusive),
ascending, ``limit`` (at most 500) and ``offset`` as the live one pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from tests.support.loopback_http import serve_app


class ActivityApi:
    """Serves ``rows`` of the asked ``user`` from ``start``; counts requests per user, records limits."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.limits: list[int] = []

    async def activity(self, request: web.Request) -> web.Response:
        user = request.query["user"].lower()
        self.calls[user] = self.calls.get(user, 0) + 1
        limit = int(request.query.get("limit", "100"))
        self.limits.append(limit)
        start, offset = int(request.query.get("start", "0")), int(request.query.get("offset", "0"))
        rows = [r for r in self.rows if r["proxyWallet"] == user and r["timestamp"] >= start]
        rows.sort(key=lambda r: int(r["timestamp"]))  # stable: insertion order within a second
        return web.json_response(rows[offset : offset + min(limit, 500)])


@asynccontextmanager
async def serve_activity() -> AsyncIterator[tuple[ActivityApi, str]]:
    api = ActivityApi()
    app = web.Application()
    app.router.add_get("/activity", api.activity)
    async with serve_app(app) as url:
        yield api, url


def activity_row(leader: str, ts: int, n: int, *, size: float = 10.0, price: float = 0.5) -> dict[str, Any]:
    return {
        "proxyWallet": leader.lower(),
        "timestamp": ts,
        "conditionId": "0x" + "cd" * 32,
        "type": "TRADE",
        "size": size,
        "usdcSize": round(size * price, 6),
        "transactionHash": f"0x{n:064x}",
        "price": price,
        "asset": "777",
        "side": "BUY",
        "outcomeIndex": 0,
    }


def row_from_rtds_frame(raw: bytes) -> dict[str, Any]:
    """The fill of an RTDS frame as the Data API lists it."""
    p = json.loads(raw)["payload"]
    return {
        "proxyWallet": p["proxyWallet"].lower(),
        "timestamp": p["timestamp"],
        "conditionId": p["conditionId"],
        "type": "TRADE",
        "size": p["size"],
        "usdcSize": round(p["size"] * p["price"], 6),
        "transactionHash": p["transactionHash"],
        "price": p["price"],
        "asset": p["asset"],
        "side": p["side"],
        "outcomeIndex": p["outcomeIndex"],
    }
