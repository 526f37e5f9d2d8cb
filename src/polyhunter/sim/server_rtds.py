"""RTDS (``rtds_ws``), protocol reference §2.1: the ``activity`` firehose of every trade.

Client frames: ``{"action": "subscribe"|"unsubscribe", "subscriptions": [{"topic", "type",
"filters"?}]}``; ``type`` ``"*"`` means every type of the topic; ``filters`` is a JSON *string*
``{"event_slug": ...}`` or ``{"market_slug": ...}``. Live quirks kept: one unknown topic rejects the
whole frame with a ``statusCode: 401`` body, a subscription without ``type`` gets
``{"message": "Invalid request body"}``, text ``ping`` gets **no** pong, and a second subscribe on an
open socket is accepted. Server frames are envelopes ``{connection_id, payload, timestamp (ms),
topic, type}``; the payload is the Data API trade row with checksummed ``proxyWallet``, a seconds
``timestamp`` and ``fee`` when one was paid.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from aiohttp import WSMsgType, web

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.adapters.polymarket.wire_rtds import RtdsActivityFrame, RtdsTradePayload
from polyhunter.sim.faults import Faults
from polyhunter.sim.server_ws_common import WsConnection, WsRegistry

__all__ = ["RtdsChannel"]

KNOWN_TOPICS = frozenset(
    {"activity", "comments", "rfq", "crypto_prices", "crypto_prices_chainlink", "clob_user", "clob_market"}
)
ACTIVITY_TYPES = frozenset({"trades", "orders_matched", "*"})
INVALID_BODY = json.dumps({"message": "Invalid request body"})


class _Subscription:
    __slots__ = ("event_slug", "market_slug", "topic", "type")

    def __init__(self, topic: str, type_: str, event_slug: str | None, market_slug: str | None) -> None:
        self.topic = topic
        self.type = type_
        self.event_slug = event_slug
        self.market_slug = market_slug

    def key(self) -> tuple[str, str, str | None, str | None]:
        return (self.topic, self.type, self.event_slug, self.market_slug)

    def matches(self, type_: str, payload: RtdsTradePayload) -> bool:
        if self.topic != "activity" or self.type not in (type_, "*"):
            return False
        if self.event_slug is not None and payload.event_slug != self.event_slug:
            return False
        return self.market_slug is None or payload.slug == self.market_slug


class _RtdsConn:
    __slots__ = ("conn", "connection_id", "subs")

    def __init__(self, conn: WsConnection, connection_id: str) -> None:
        self.conn = conn
        self.connection_id = connection_id
        self.subs: dict[tuple[str, str, str | None, str | None], _Subscription] = {}


def _parse_subscription(item: Any) -> _Subscription | str:
    """A subscription, or the error frame that rejects the whole request."""
    if not isinstance(item, dict) or not isinstance(item.get("topic"), str) or not item.get("type"):
        return INVALID_BODY
    topic, type_ = item["topic"], str(item["type"])
    if topic not in KNOWN_TOPICS:
        body = {"message": f"leger GetTopics error: topic {topic} not found"}
        return json.dumps({"body": body, "statusCode": 401})
    filters = item.get("filters")
    event_slug = market_slug = None
    if filters:
        try:
            parsed = json.loads(filters) if isinstance(filters, str) else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return INVALID_BODY
        event_slug = parsed.get("event_slug")
        market_slug = parsed.get("market_slug")
    return _Subscription(topic, type_, event_slug, market_slug)


class RtdsChannel:
    def __init__(self, faults: Faults, registry: WsRegistry, seed: int) -> None:
        self._faults = faults
        self._registry = registry
        self._conns: set[_RtdsConn] = set()
        self._rng = random.Random(f"rtds:{seed}")  # noqa: S311 - connection ids, not secrets

    def _connection_id(self) -> str:
        return base64.urlsafe_b64encode(self._rng.randbytes(13)).decode()[:18] + "=="

    def _handle(self, rc: _RtdsConn, data: Any) -> None:
        if not isinstance(data, dict) or data.get("action") not in ("subscribe", "unsubscribe"):
            rc.conn.send(INVALID_BODY)
            return
        items = data.get("subscriptions")
        if not isinstance(items, list):
            rc.conn.send(INVALID_BODY)
            return
        parsed: list[_Subscription] = []
        for item in items:
            sub = _parse_subscription(item)
            if isinstance(sub, str):
                rc.conn.send(sub)
                return
            parsed.append(sub)
        for sub in parsed:
            if data["action"] == "subscribe":
                rc.subs[sub.key()] = sub
            else:
                rc.subs.pop(sub.key(), None)

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = WsConnection(ws, self._faults)
        rc = _RtdsConn(conn, self._connection_id())
        self._registry.add(conn)
        self._conns.add(rc)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                text = msg.data.strip()
                if text.lower() == "ping" or not text:
                    continue  # live never answers pings
                try:
                    data = json.loads(text)
                except ValueError:
                    conn.send(INVALID_BODY)
                    continue
                self._handle(rc, data)
        finally:
            self._conns.discard(rc)
            self._registry.discard(conn)
            await conn.finish()
        return ws

    @property
    def subscriber_count(self) -> int:
        return sum(1 for rc in self._conns if rc.subs)

    def publish_trade(self, payload: RtdsTradePayload, timestamp_ms: int) -> None:
        """Send one fill on ``activity/trades`` and ``activity/orders_matched`` to matching subscribers."""
        for rc in list(self._conns):
            for type_ in ("trades", "orders_matched"):
                if any(sub.matches(type_, payload) for sub in rc.subs.values()):
                    frame = RtdsActivityFrame(
                        connection_id=rc.connection_id,
                        payload=payload,
                        timestamp=timestamp_ms,
                        topic="activity",
                        type=type_,
                    )
                    rc.conn.send(encode(frame).decode())
