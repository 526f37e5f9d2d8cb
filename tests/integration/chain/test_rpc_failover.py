"""JsonRpcClient with several nodes: a connection error, a timeout or a 5xx moves it to the next node
at once; it goes back to the first (the preferred one) after `failback_s`; a JSON-RPC error answer is
not a reason to fail over; a non-idempotent send that may have reached a node is never sent to another."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError

pytestmark = pytest.mark.integration


class Node:
    """A node answering eth_blockNumber with its own number; `status` / `hang_s` make it fail."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.status = 200
        self.hang_s = 0.0
        self.error = False
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.calls += 1
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.status != 200:
            return web.Response(status=self.status)
        if self.error:
            return web.json_response(
                {"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32000, "message": "no"}}
            )
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": hex(self.head)})


@asynccontextmanager
async def nodes(count: int) -> AsyncIterator[list[tuple[Node, str]]]:
    runners, out = [], []
    for n in range(count):
        node = Node(100 + n)
        app = web.Application()
        app.router.add_post("/", node.handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        out.append((node, f"http://127.0.0.1:{runner.addresses[0][1]}/"))
    try:
        yield out
    finally:
        for runner in runners:
            await runner.cleanup()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _client(urls: list[str], **kw: float) -> JsonRpcClient:
    options: dict[str, float] = {
        "max_retries": 1,
        "backoff_initial_ms": 1,
        "backoff_max_ms": 5,
        "timeout_ms": 2_000,
    }
    options.update(kw)
    return JsonRpcClient(urls, **options)  # type: ignore[arg-type]


async def test_a_refused_connection_fails_over_to_the_next_node() -> None:
    async with nodes(1) as [(second, url)], _client([_closed_port_url(), url]) as rpc:
        assert await rpc.block_number() == second.head
        assert rpc.url == url
        assert rpc.failovers == 1
        assert await rpc.block_number() == second.head  # stays there
        assert rpc.failovers == 1


async def test_a_5xx_fails_over_and_the_client_goes_back_after_a_while() -> None:
    async with nodes(2) as [(first, url1), (second, url2)]:
        first.status = 503
        async with _client([url1, url2], failback_s=0.3) as rpc:
            assert await rpc.block_number() == second.head
            assert rpc.url == url2
            first.status = 200
            assert await rpc.block_number() == second.head  # not yet back
            await asyncio.sleep(0.35)
            assert await rpc.block_number() == first.head
            assert rpc.url == url1


async def test_a_timeout_fails_over() -> None:
    async with nodes(2) as [(first, url1), (second, url2)]:
        first.hang_s = 1.0
        async with _client([url1, url2], timeout_ms=300) as rpc:
            assert await rpc.block_number() == second.head


async def test_every_node_down_is_a_transport_error_after_the_retries() -> None:
    async with nodes(2) as [(first, url1), (second, url2)]:
        first.status = second.status = 502
        async with _client([url1, url2], max_retries=1) as rpc:
            with pytest.raises(RpcTransportError):
                await rpc.block_number()
        assert (first.calls, second.calls) == (2, 2)  # each node once per round, two rounds


async def test_a_json_rpc_error_is_an_answer_not_a_failover() -> None:
    async with nodes(2) as [(first, url1), (second, url2)]:
        first.error = True
        async with _client([url1, url2]) as rpc:
            with pytest.raises(RpcError):
                await rpc.block_number()
            assert rpc.url == url1
        assert second.calls == 0


async def test_a_send_that_may_have_arrived_is_not_sent_to_another_node() -> None:
    async with nodes(2) as [(first, url1), (second, url2)]:
        first.status = 503
        async with _client([url1, url2]) as rpc:
            with pytest.raises(RpcTransportError):
                await rpc.call("eth_sendRawTransaction", ["0x00"])
        assert (first.calls, second.calls) == (1, 0)
