"""A small async Ethereum JSON-RPC client over aiohttp.

Transport failures (connection errors, timeouts, HTTP 429/5xx) are retried with bounded exponential backoff and
full jitter. JSON-RPC error responses are not retried: they are answers (:class:`RpcError`). Methods that are not
idempotent (``eth_sendTransaction``) are retried only when the connection could not be opened, so a request the
node may have received is never sent twice.

Several nodes: the client sends to one at a time (the first to begin with). A transport failure
(connection error, timeout, HTTP 429/5xx) moves it to the next node at once, without a backoff while a
node of the list is still untried in that call; once it has run on another node for ``failback_s``
it returns to the first (the preferred one).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import aiohttp

from polyhunter.log import get_logger

log = get_logger(__name__)

_NON_IDEMPOTENT = frozenset({"eth_sendTransaction", "eth_sendRawTransaction"})
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

JsonDict = dict[str, Any]
BlockTag = int | str


class RpcError(Exception):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method}: {code} {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class RpcTransportError(Exception):
    """The node could not be reached (after retries), or answered with something that is not JSON-RPC."""


def quantity(value: int) -> str:
    return hex(value)


def block_tag(value: BlockTag) -> str:
    return quantity(value) if isinstance(value, int) else value


def parse_quantity(value: object) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise RpcTransportError(f"not a hex quantity: {value!r}")


class _Retryable(Exception):
    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


class JsonRpcClient:
    def __init__(
        self,
        url: str | Sequence[str],
        *,
        timeout_ms: int = 5_000,
        max_retries: int = 3,
        backoff_initial_ms: int = 100,
        backoff_max_ms: int = 2_000,
        failback_s: float = 300.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """`url`: one node, or several in failover order (the first is preferred)."""
        self.urls = [url] if isinstance(url, str) else list(dict.fromkeys(url))
        if not self.urls:
            raise ValueError("no JSON-RPC URL")
        self._active = 0
        self._failed_over_at = 0.0
        self._failback_s = failback_s
        self.failovers = 0
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._max_retries = max_retries
        self._backoff_initial = backoff_initial_ms / 1000
        self._backoff_max = backoff_max_ms / 1000
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        """The node requests go to now."""
        return self.urls[self._active]

    def _fail_over(self, reason: str) -> None:
        previous = self.url
        self._active = (self._active + 1) % len(self.urls)
        self._failed_over_at = time.monotonic()
        self.failovers += 1
        log.warning("rpc.failover", previous=previous, now=self.url, error=reason)

    def _maybe_fail_back(self) -> None:
        if self._active and time.monotonic() - self._failed_over_at >= self._failback_s:
            log.info("rpc.failback", previous=self.url, now=self.urls[0])
            self._active = 0

    async def __aenter__(self) -> JsonRpcClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_initial * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography

    async def _post_once(self, method: str, payload: bytes, url: str) -> object:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                url, data=payload, headers={"Content-Type": "application/json"}
            ) as response:
                if response.status in _RETRY_STATUS:
                    raise _Retryable(f"HTTP {response.status}", sent=True)
                body = await response.read()
                if response.status != 200:
                    raise RpcTransportError(f"{method}: HTTP {response.status}: {body[:200]!r}")
        except aiohttp.ClientConnectorError as exc:
            raise _Retryable(f"connect: {exc}", sent=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}", sent=True) from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RpcTransportError(f"{method}: response is not JSON: {body[:200]!r}") from exc

    async def call(self, method: str, params: Sequence[object] = ()) -> Any:
        request_id = next(self._ids)
        payload = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        attempt = 0
        self._maybe_fail_back()
        untried = len(self.urls) - 1  # other nodes this call may still move to without a backoff
        while True:
            try:
                reply = await self._post_once(method, payload.encode(), self.url)
                break
            except _Retryable as exc:
                may_retry = not (exc.sent and method in _NON_IDEMPOTENT)
                if not may_retry:
                    raise RpcTransportError(f"{method} failed after {attempt + 1} attempts: {exc}") from exc
                if len(self.urls) > 1:
                    self._fail_over(str(exc))
                if untried > 0:
                    untried -= 1
                    continue
                if attempt >= self._max_retries:
                    raise RpcTransportError(f"{method} failed after {attempt + 1} attempts: {exc}") from exc
                delay = self._backoff(attempt)
                log.warning(
                    "rpc.retry",
                    method=method,
                    attempt=attempt + 1,
                    delay_ms=int(delay * 1000),
                    error=str(exc),
                )
                attempt += 1
                untried = len(self.urls) - 1
                await asyncio.sleep(delay)
        if not isinstance(reply, dict) or reply.get("id") != request_id:
            raise RpcTransportError(f"{method}: not a JSON-RPC reply: {str(reply)[:200]}")
        error = reply.get("error")
        if error is not None:
            err: Mapping[str, Any] = error if isinstance(error, dict) else {"code": -1, "message": str(error)}
            code = err.get("code", -1)
            raise RpcError(
                method, code if isinstance(code, int) else -1, str(err.get("message", "")), err.get("data")
            )
        return reply.get("result")

    # --- typed helpers -------------------------------------------------------------------------------

    async def chain_id(self) -> int:
        return parse_quantity(await self.call("eth_chainId"))

    async def block_number(self) -> int:
        return parse_quantity(await self.call("eth_blockNumber"))

    async def accounts(self) -> list[str]:
        result = await self.call("eth_accounts")
        return [str(a) for a in result]

    async def transaction_count(self, address: str, block: BlockTag = "pending") -> int:
        return parse_quantity(await self.call("eth_getTransactionCount", [address, block_tag(block)]))

    async def get_logs(
        self,
        *,
        from_block: BlockTag,
        to_block: BlockTag,
        addresses: Sequence[str] = (),
        topics: Sequence[str | Sequence[str] | None] = (),
    ) -> list[JsonDict]:
        query: JsonDict = {"fromBlock": block_tag(from_block), "toBlock": block_tag(to_block)}
        if addresses:
            query["address"] = list(addresses)
        if topics:
            query["topics"] = [t if t is None or isinstance(t, str) else list(t) for t in topics]
        result = await self.call("eth_getLogs", [query])
        if not isinstance(result, list):
            raise RpcTransportError(f"eth_getLogs: expected a list, got {type(result).__name__}")
        return [cast(JsonDict, entry) for entry in result]

    async def send_transaction(self, tx: Mapping[str, object]) -> str:
        """``eth_sendTransaction`` from an account the node holds unlocked (anvil). Returns the tx hash."""
        return str(await self.call("eth_sendTransaction", [dict(tx)]))

    async def call_contract(self, to: str, data: bytes, block: BlockTag = "latest") -> bytes:
        result = await self.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, block_tag(block)])
        return bytes.fromhex(str(result)[2:])

    async def get_transaction_receipt(self, tx_hash: str) -> JsonDict | None:
        result = await self.call("eth_getTransactionReceipt", [tx_hash])
        return cast(JsonDict, result) if isinstance(result, dict) else None

    async def get_block_by_number(self, block: BlockTag, *, full: bool = False) -> JsonDict | None:
        result = await self.call("eth_getBlockByNumber", [block_tag(block), full])
        return cast(JsonDict, result) if isinstance(result, dict) else None

    async def wait_for_receipt(
        self, tx_hash: str, *, timeout_s: float = 30.0, poll_s: float = 0.05
    ) -> JsonDict:
        async with asyncio.timeout(timeout_s):
            while True:
                receipt = await self.get_transaction_receipt(tx_hash)
                if receipt is not None:
                    return receipt
                await asyncio.sleep(poll_s)
