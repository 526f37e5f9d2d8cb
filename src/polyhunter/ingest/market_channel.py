"""The CLOB market channel for the market lifecycle: `tick_size_change` and `market_resolved` of the
tokens followers hold or copy.

One socket on ``<clob_ws_url>/market``, subscribed (with ``custom_feature_enabled``, which
``market_resolved`` needs) to the tokens `tokens()` names; every `refresh_s` the set is read again and
new tokens are added on the open socket (``{"operation": "subscribe"}``). A dropped or silent socket
is opened again with backoff. Frames it cannot decode are counted and dropped (the poll of the
venue's market records, engine/lifecycle.py, still sees what they would have said).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation

import aiohttp
import msgspec

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.adapters.polymarket.wire_clob_ws import (
    MarketSubscribe,
    MarketSubscriptionUpdate,
    WsMarketResolved,
    WsTickSizeChange,
    decode_market_frame,
)
from polyhunter.log import get_logger
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

OnTick = Callable[[str, Decimal], None]
OnResolved = Callable[[str, str, tuple[str, ...]], Awaitable[None]]
Tokens = Callable[[], Awaitable[set[str]]]
PING_S = 10.0


class MarketChannelListener:
    def __init__(
        self,
        url: str,
        tokens: Tokens,
        on_tick: OnTick,
        on_resolved: OnResolved,
        *,
        refresh_s: float = 5.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/") + "/market"
        self._tokens = tokens
        self._on_tick = on_tick
        self._on_resolved = on_resolved
        self._refresh_s = refresh_s
        self._backoff_max_s = backoff_max_s
        self._stop = asyncio.Event()
        self.connects = 0
        self.events = 0
        self.bad_frames = 0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        attempt = 0
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                raise_if_cancelled()  # a cancel swallowed inside the loop
                wanted = await self._wanted()
                if wanted:
                    try:
                        await self._session(session, wanted)
                        attempt = 0
                    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                        attempt += 1
                        log.warning("market channel connection failed", error=f"{type(exc).__name__}: {exc}")
                if self._stop.is_set():
                    break
                backoff = min(self._backoff_max_s, 0.5 * 2**attempt)
                delay = random.uniform(0, backoff) if attempt else self._refresh_s  # noqa: S311
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)

    async def _wanted(self) -> set[str]:
        try:
            return await self._tokens()
        except Exception as exc:  # noqa: BLE001 - asked again on the next round
            log.warning("tokens to watch unavailable", error=str(exc))
            return set()

    async def _session(self, session: aiohttp.ClientSession, wanted: set[str]) -> None:
        async with session.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
            self.connects += 1
            subscribed = set(wanted)
            first = MarketSubscribe(assets_ids=sorted(subscribed), type="market", custom_feature_enabled=True)
            await ws.send_str(encode(first).decode())
            loop = asyncio.get_running_loop()
            next_refresh = loop.time() + self._refresh_s
            while not self._stop.is_set():
                raise_if_cancelled()  # a cancel swallowed inside the loop
                try:
                    msg = await ws.receive(timeout=min(PING_S, self._refresh_s))
                except TimeoutError:
                    msg = None
                if msg is not None:
                    if msg.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.ERROR,
                    ):
                        return
                    if msg.type is aiohttp.WSMsgType.TEXT and msg.data not in ("PONG", "PING"):
                        await self._frame(msg.data)
                if loop.time() >= next_refresh:
                    next_refresh = loop.time() + self._refresh_s
                    new = await self._wanted() - subscribed
                    if new:
                        subscribed |= new
                        update = MarketSubscriptionUpdate(
                            operation="subscribe", assets_ids=sorted(new), custom_feature_enabled=True
                        )
                        await ws.send_str(encode(update).decode())
                    await ws.send_str("PING")

    async def _frame(self, data: str) -> None:
        try:
            events = decode_market_frame(data)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            self.bad_frames += 1
            return
        for event in events:
            if isinstance(event, WsTickSizeChange):
                try:
                    tick = Decimal(event.new_tick_size)
                except InvalidOperation:
                    self.bad_frames += 1
                    continue
                if not tick.is_finite() or not 0 < tick < 1:
                    self.bad_frames += 1
                    continue
                self.events += 1
                self._on_tick(event.asset_id, tick)
            elif isinstance(event, WsMarketResolved):
                self.events += 1
                try:
                    await self._on_resolved(event.market, event.winning_asset_id, tuple(event.assets_ids))
                except Exception as exc:  # noqa: BLE001 - the poll of market records tries again
                    log.warning("resolution handling failed", condition_id=event.market, error=str(exc))
