"""CLOB user channel (``<clob_ws>/user``), protocol reference §2.3.

The first frame authenticates: ``{"auth": {"apiKey", "secret", "passphrase"}, "markets": [...],
"type": "user"}`` (``markets`` omitted or ``[]`` = every market). A bad key gets one
``{"error": "Unauthorized/Invalid api key"}`` frame and the socket is closed. Only the key's own
orders and trades are delivered: ``order`` events (PLACEMENT / UPDATE / CANCELLATION) and ``trade``
events, re-sent at each status (MATCHED → MINED → CONFIRMED). ``PING`` → ``PONG``;
``{"operation": "subscribe"|"unsubscribe", "markets": [...]}`` edits the market filter.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from polyhunter.sim.faults import Faults
from polyhunter.sim.server_ws_common import WsConnection, WsRegistry, json_messages
from polyhunter.sim.state_records import ApiKey

__all__ = ["UserChannel"]

UNAUTHORIZED = json.dumps({"error": "Unauthorized/Invalid api key"})


class _UserSub:
    __slots__ = ("api_key", "conn", "markets")

    def __init__(self, conn: WsConnection, api_key: str, markets: set[str]) -> None:
        self.conn = conn
        self.api_key = api_key
        self.markets = markets  # empty = all


class UserChannel:
    def __init__(self, keys: Callable[[str], ApiKey | None], faults: Faults, registry: WsRegistry) -> None:
        self._keys = keys
        self._faults = faults
        self._registry = registry
        self._subs: dict[str, set[_UserSub]] = {}

    def _authenticate(self, data: Any) -> tuple[str, set[str]] | None:
        if not isinstance(data, dict) or not isinstance(data.get("auth"), dict):
            return None
        auth = data["auth"]
        key = self._keys(str(auth.get("apiKey", "")))
        if key is None:
            return None
        if not hmac.compare_digest(str(auth.get("secret", "")), key.secret) or not hmac.compare_digest(
            str(auth.get("passphrase", "")), key.passphrase
        ):
            return None
        markets = data.get("markets") or []
        if not isinstance(markets, list):
            return None
        return key.api_key, {str(m).lower() for m in markets}

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = WsConnection(ws, self._faults)
        self._registry.add(conn)
        sub: _UserSub | None = None
        try:
            async with contextlib.aclosing(json_messages(ws, conn)) as messages:
                async for data in messages:
                    if sub is None:
                        authed = self._authenticate(data)
                        if authed is None:
                            await ws.send_str(UNAUTHORIZED)
                            await ws.close(code=WSCloseCode.POLICY_VIOLATION)
                            break
                        sub = _UserSub(conn, authed[0], authed[1])
                        self._subs.setdefault(sub.api_key, set()).add(sub)
                        continue
                    self._update(sub, data)
        finally:
            if sub is not None:
                self._subs.get(sub.api_key, set()).discard(sub)
            self._registry.discard(conn)
            await conn.finish()
        return ws

    @staticmethod
    def _update(sub: _UserSub, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("markets", []), list):
            sub.conn.send(json.dumps({"error": "Invalid request body"}))
            return
        markets = {str(m).lower() for m in data.get("markets", [])}
        if data.get("operation") == "unsubscribe":
            sub.markets.difference_update(markets)
        elif data.get("operation") == "subscribe":
            sub.markets.update(markets)
        else:
            sub.conn.send(json.dumps({"error": "Invalid request body"}))

    def is_subscribed(self, api_key: str) -> bool:
        return bool(self._subs.get(api_key))

    def publish(self, api_key: str, market: str, text: str) -> None:
        """Deliver one event of ``api_key``'s order or trade in ``market``."""
        for sub in list(self._subs.get(api_key, ())):
            if not sub.markets or market.lower() in sub.markets:
                sub.conn.send(text)
