"""The market channel listener against a local websocket server: it subscribes to the tokens it is
given (with the custom feature `market_resolved` needs), hands on tick size changes and resolutions,
drops what it cannot decode or what no venue sends (a tick outside (0, 1)), and reconnects."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from aiohttp import web

from polyhunter.ingest.market_channel import MarketChannelListener
from tests.support.ws_server import WsServer

CID = "0x" + "cd" * 32
TICK = {"event_type": "tick_size_change", "asset_id": "11", "market": CID, "old_tick_size": "0.01",
        "new_tick_size": "0.001", "timestamp": "1"}  # fmt: skip
RESOLVED = {"event_type": "market_resolved", "id": "5", "market": CID, "assets_ids": ["11", "12"],
            "winning_asset_id": "12", "winning_outcome": "No", "timestamp": "2"}  # fmt: skip


async def test_events_handed_on_garbage_dropped_and_reconnects() -> None:
    server = WsServer()

    async def behaviour(ws: web.WebSocketResponse, number: int) -> None:
        if number == 1:
            for frame in (
                "{not json",
                json.dumps({**TICK, "new_tick_size": "7"}),
                json.dumps({"event_type": "x"}),
            ):
                await ws.send_str(frame)
            await ws.send_str(json.dumps([TICK, {**TICK, "new_tick_size": "NaN"}]))
            return  # closes: the listener comes back
        await ws.send_str(json.dumps(RESOLVED))
        await ws.receive()  # until the listener goes

    server.behaviour = behaviour
    await server.start()
    ticks: list[tuple[str, Decimal]] = []
    resolved: list[tuple[str, str, tuple[str, ...]]] = []

    async def tokens() -> set[str]:
        return {"11", "12"}

    heard = asyncio.Event()

    async def on_resolved(cid: str, winner: str, assets: tuple[str, ...]) -> None:
        resolved.append((cid, winner, assets))
        heard.set()

    listener = MarketChannelListener(
        server.url.rstrip("/"), tokens, lambda t, v: ticks.append((t, v)), on_resolved, refresh_s=0.05
    )
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(20):
            await heard.wait()
    finally:
        listener.stop()
        await task
        await server.stop()
    assert ticks == [("11", Decimal("0.001"))]
    assert resolved == [(CID, "12", ("11", "12"))]
    assert listener.bad_frames == 4
    assert listener.connects == 2
    first = json.loads(server.subscribes[0])
    assert first == {"assets_ids": ["11", "12"], "type": "market", "custom_feature_enabled": True}
