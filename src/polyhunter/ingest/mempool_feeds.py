"""Where the mempool source reads pending transactions: a websocket subscription, or a ``txpool_content`` poll.

* :class:`WsPendingFeed`: ``eth_subscribe ["newPendingTransactions", true]`` (full transactions; a node that
  sends only hashes gets each one read with ``eth_getTransactionByHash``). One batch per notification.
* :class:`TxpoolFeed`: ``txpool_content`` every ``interval_s`` (anvil, geth); the whole pending pool each
  time (the source skips the transactions it has seen).

A feed raises :class:`FeedError` (or the RPC client's errors) when its connection is lost; the source
reconnects with backoff by iterating :meth:`batches` again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from polyhunter.adapters.chain.rpc import JsonRpcClient

PendingTx = dict[str, Any]


class FeedError(Exception):
    """The feed's connection failed or the node answered what a feed cannot use."""


class PendingFeed(Protocol):
    def batches(self) -> AsyncIterator[list[PendingTx]]: ...

    async def close(self) -> None: ...


class TxpoolFeed:
    """``txpool_content`` polled every ``interval_s``: each batch is the node's pending pool."""

    def __init__(self, rpc: JsonRpcClient, interval_s: float) -> None:
        self._rpc = rpc
        self._interval_s = interval_s

    async def batches(self) -> AsyncIterator[list[PendingTx]]:
        while True:
            content = await self._rpc.call("txpool_content", [])
            if not isinstance(content, dict) or not isinstance(content.get("pending", {}), dict):
                raise FeedError(f"txpool_content: unexpected answer {str(content)[:120]}")
            batch: list[PendingTx] = []
            for by_nonce in content.get("pending", {}).values():
                if isinstance(by_nonce, dict):
                    batch.extend(tx for tx in by_nonce.values() if isinstance(tx, dict))
            yield batch
            await asyncio.sleep(self._interval_s)

    async def close(self) -> None:
        """Nothing of its own: the RPC client is the caller's."""


class WsPendingFeed:
    """A ``newPendingTransactions`` subscription on ``url`` (ws:// or wss://)."""

    def __init__(
        self,
        url: str,
        *,
        rpc: JsonRpcClient | None = None,
        max_msg_bytes: int = 1 << 20,
        heartbeat_s: float = 15.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        parsed = urlsplit(url)  # logged without its path or query: node URLs often carry an API key there
        self.label = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or ''}".rstrip(":")
        self._rpc = rpc  # for nodes that send hashes only
        self._max_msg_bytes = max_msg_bytes
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self.connects = 0

    async def batches(self) -> AsyncIterator[list[PendingTx]]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        try:
            ws = await self._session.ws_connect(
                self.url,
                max_msg_size=self._max_msg_bytes,
                heartbeat=self._heartbeat_s,
                timeout=aiohttp.ClientWSTimeout(ws_close=self._connect_timeout_s),
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise FeedError(f"connect {self.label}: {type(exc).__name__}") from exc
        async with ws:
            self.connects += 1
            request = {"jsonrpc": "2.0", "id": next(self._ids), "method": "eth_subscribe"}
            await ws.send_str(json.dumps({**request, "params": ["newPendingTransactions", True]}))
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                batch = await self._batch(message.data)
                if batch is not None:
                    yield batch
        raise FeedError(f"subscription on {self.label} closed ({ws.close_code})")

    async def _batch(self, text: str) -> list[PendingTx] | None:
        """The transactions of one frame: ``[]`` for the subscription's acceptance (the feed is live), None
        for a frame that holds none."""
        try:
            frame = json.loads(text)
        except ValueError as exc:
            raise FeedError(f"not JSON: {text[:80]!r}") from exc
        if not isinstance(frame, dict):
            return None
        if "error" in frame:
            raise FeedError(f"eth_subscribe refused: {str(frame['error'])[:200]}")
        params = frame.get("params")
        if "id" in frame and isinstance(frame.get("result"), str):
            return []  # subscribed
        if frame.get("method") != "eth_subscription" or not isinstance(params, dict):
            return None
        result = params.get("result")
        if isinstance(result, dict):
            return [result]
        if isinstance(result, str) and self._rpc is not None:  # a node that sends hashes only
            tx = await self._rpc.call("eth_getTransactionByHash", [result])
            return [tx] if isinstance(tx, dict) else None
        return None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
