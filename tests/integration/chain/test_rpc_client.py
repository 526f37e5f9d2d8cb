"""JsonRpcClient against a real HTTP server on 127.0.0.1: retries, errors, non-idempotent sends."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError

pytestmark = pytest.mark.integration

Responder = Callable[[int, dict[str, object]], web.Response]


class FakeNode:
    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []
        self.respond: Responder = lambda _n, body: web.json_response(
            {"jsonrpc": "2.0", "id": body["id"], "result": "0x10"}
        )

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.requests.append(body)
        return self.respond(len(self.requests), body)


@pytest.fixture
async def node() -> AsyncIterator[tuple[FakeNode, str]]:
    fake = FakeNode()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/"
    await runner.cleanup()


def _client(url: str) -> JsonRpcClient:
    return JsonRpcClient(url, max_retries=3, backoff_initial_ms=1, backoff_max_ms=5, timeout_ms=2_000)


async def test_transient_5xx_is_retried(node: tuple[FakeNode, str]) -> None:
    fake, url = node
    ok = fake.respond
    fake.respond = lambda n, body: web.Response(status=503) if n <= 2 else ok(n, body)
    async with _client(url) as client:
        assert await client.block_number() == 16
    assert len(fake.requests) == 3
    assert all(r["method"] == "eth_blockNumber" and r["params"] == [] for r in fake.requests)


async def test_retries_are_bounded(node: tuple[FakeNode, str]) -> None:
    fake, url = node
    fake.respond = lambda _n, _body: web.Response(status=502)
    async with _client(url) as client:
        with pytest.raises(RpcTransportError, match="after 4 attempts"):
            await client.chain_id()
    assert len(fake.requests) == 4


async def test_json_rpc_error_is_an_answer_not_retried(node: tuple[FakeNode, str]) -> None:
    fake, url = node
    fake.respond = lambda _n, body: web.json_response(
        {"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32000, "message": "execution reverted"}}
    )
    async with _client(url) as client:
        with pytest.raises(RpcError) as caught:
            await client.get_logs(
                from_block=1, to_block="latest", addresses=["0xab"], topics=[["0x01"], None, "0x02"]
            )
    assert caught.value.code == -32000
    assert len(fake.requests) == 1
    assert fake.requests[0]["params"] == [
        {"fromBlock": "0x1", "toBlock": "latest", "address": ["0xab"], "topics": [["0x01"], None, "0x02"]}
    ]


async def test_send_transaction_is_not_resent_after_the_node_may_have_it(node: tuple[FakeNode, str]) -> None:
    fake, url = node
    fake.respond = lambda _n, _body: web.Response(status=503)
    async with _client(url) as client:
        with pytest.raises(RpcTransportError):
            await client.send_transaction({"from": "0x01", "data": "0x"})
    assert len(fake.requests) == 1


async def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _client(f"http://127.0.0.1:{port}/") as client:
        with pytest.raises(RpcTransportError, match="after 4 attempts"):
            await client.block_number()


async def test_reply_with_wrong_id_is_rejected(node: tuple[FakeNode, str]) -> None:
    fake, url = node
    fake.respond = lambda _n, _body: web.json_response({"jsonrpc": "2.0", "id": 999, "result": "0x1"})
    async with _client(url) as client:
        with pytest.raises(RpcTransportError, match="not a JSON-RPC reply"):
            await client.block_number()
