"""MempoolSource against an in-memory node: keys, confirmation at the block, retraction (dropped, replaced,
reverted), and what it refuses (malformed calldata, another contract, a huge transaction, a lost feed)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from polyhunter.adapters.chain.match_orders import Order, encode_match_orders
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.ingest.mempool import MempoolSource
from polyhunter.ingest.mempool_feeds import FeedError, WsPendingFeed
from polyhunter.ports.sources import SourceHealth

EXCHANGE = "0x" + "e1" * 20
OPERATOR = "0x" + "0b" * 20
LEADER = "0x" + "1e" * 20
MAKER = "0x" + "a1" * 20


def _amounts(side: Side) -> tuple[int, int]:
    """(making, taking) of an order for 10 shares at 0.6."""
    return (6_000_000, 10_000_000) if side is Side.BUY else (10_000_000, 6_000_000)


def _calldata(leader_side: Side = Side.BUY, legs: int = 1) -> str:
    t_making, t_taking = _amounts(leader_side)
    taker = Order(1, LEADER, LEADER, 5, t_making * legs, t_taking * legs, leader_side)
    maker_side = Side.SELL if leader_side is Side.BUY else Side.BUY
    making, taking = _amounts(maker_side)
    makers = [Order(2 + i, MAKER, MAKER, 5, making, taking, maker_side) for i in range(legs)]
    return "0x" + encode_match_orders(taker, makers, t_making * legs, [making] * legs).hex()


def _tx(n: int, data: str, *, to: str = EXCHANGE, nonce: int | None = None) -> dict[str, Any]:
    return {
        "hash": "0x" + f"{n:064x}",
        "from": OPERATOR,
        "nonce": hex(n if nonce is None else nonce),
        "to": to,
        "input": data,
    }


class FakeNode:
    """Blocks of full transactions, receipts, and the pending pool."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = [{"number": "0x0", "transactions": []}]
        self.receipts: dict[str, dict[str, Any]] = {}
        self.pool: dict[str, dict[str, Any]] = {}
        self.fail = False

    def mine(self, *txs: dict[str, Any], status: str = "0x1") -> None:
        for tx in txs:
            self.pool.pop(tx["hash"], None)
            self.receipts[tx["hash"]] = {"status": status}
        self.blocks.append({"number": hex(len(self.blocks)), "transactions": list(txs)})

    async def block_number(self) -> int:
        if self.fail:
            raise OSError("node away")
        return len(self.blocks) - 1

    async def get_block_by_number(self, block: int | str, *, full: bool = False) -> dict[str, Any] | None:
        index = int(block)
        return self.blocks[index] if index < len(self.blocks) else None

    async def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        return self.receipts.get(tx_hash)

    async def call(self, method: str, params: Sequence[object] = ()) -> Any:
        assert method == "eth_getTransactionByHash"
        tx = self.pool.get(str(params[0]))
        return {**tx, "blockNumber": None} if tx is not None else None


class FakeFeed:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[list[dict[str, Any]] | Exception] = asyncio.Queue()
        self.iterations = 0

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        self.iterations += 1
        while True:
            item = await self.queue.get()
            if isinstance(item, Exception):
                raise item
            yield item

    async def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.signals: list[Signal] = []

    def admit(self, signal: Signal) -> bool:
        return signal.key not in {s.key for s in self.signals}

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        self.signals += admitted

    async def submit(self, signals: list[Signal]) -> None:
        raise AssertionError("push path only")

    async def submit_until_taken(self, signal: Signal) -> None:
        raise AssertionError("push path only")


class Hooks:
    def __init__(self) -> None:
        self.confirmed: list[str] = []
        self.retracted: list[str] = []

    async def confirm(self, signal: Signal) -> None:
        self.confirmed.append(signal.key)

    async def retract(self, signal: Signal) -> None:
        self.retracted.append(signal.key)


def _source(node: FakeNode, feed: FakeFeed, hooks: Hooks, **kw: Any) -> MempoolSource:
    return MempoolSource(
        feed,
        node,
        exchanges=[EXCHANGE],
        leaders=[LEADER],
        poll_interval_ms=10,
        drop_after_blocks=2,
        max_tx_bytes=8_192,
        on_confirm=hooks.confirm,
        on_retract=hooks.retract,
        **kw,
    )


async def _until(check: Any, limit_s: float = 10) -> None:
    async with asyncio.timeout(limit_s):
        while not check():  # noqa: ASYNC110 - polls counters of the source under test
            await asyncio.sleep(0.01)


def _health(source: MempoolSource) -> SourceHealth:
    """Read afresh: mypy keeps an earlier assert's narrowing across an await."""
    return source.health


async def _running(source: MempoolSource, sink: Sink) -> asyncio.Task[None]:
    return asyncio.create_task(source.run(sink))


async def test_keys_are_the_mined_fills_and_confirmed_at_the_block() -> None:
    node, feed, hooks, sink = FakeNode(), FakeFeed(), Hooks(), Sink()
    source = _source(node, feed, hooks)
    task = await _running(source, sink)
    try:
        tx = _tx(1, _calldata(legs=2))
        node.pool[tx["hash"]] = tx
        await feed.queue.put([tx])
        await feed.queue.put([tx])  # the txpool poll repeats the pool: read once
        await _until(lambda: len(sink.signals) == 1)
        [signal] = sink.signals
        assert signal.source is SourceKind.MEMPOOL
        assert signal.provisional
        assert signal.key == signal_key(tx["hash"], LEADER, "5", Side.BUY, 20_000_000, 0)
        await _until(lambda: source.health is SourceHealth.HEALTHY)
        node.mine(tx)
        await _until(lambda: hooks.confirmed == [signal.key])
        assert source.tracked == 0
        assert hooks.retracted == []
    finally:
        await source.close()
        await task


async def test_dropped_replaced_and_reverted_fills_are_retracted() -> None:
    node, feed, hooks, sink = FakeNode(), FakeFeed(), Hooks(), Sink()
    source = _source(node, feed, hooks)
    task = await _running(source, sink)
    try:
        dropped, replaced, reverted = (_tx(n, _calldata()) for n in (1, 2, 3))
        for tx in (dropped, replaced, reverted):
            node.pool[tx["hash"]] = tx
        await feed.queue.put([dropped, replaced, reverted])
        await _until(lambda: len(sink.signals) == 3)
        keys = {s.tx_hash: s.key for s in sink.signals}
        await _until(lambda: source.stats.head_block is not None)
        node.pool.pop(dropped["hash"])  # gone from the node: never mined
        node.mine(_tx(99, "0x", to=OPERATOR, nonce=2))  # takes the replaced one's nonce
        await _until(lambda: hooks.retracted == [keys[replaced["hash"]]])  # same sender and nonce, other hash
        node.mine(reverted, status="0x0")
        await _until(lambda: keys[reverted["hash"]] in hooks.retracted)
        node.mine()
        await _until(lambda: keys[dropped["hash"]] in hooks.retracted)  # not mined within 2 blocks, gone
        assert hooks.confirmed == []
        assert (source.stats.replaced, source.stats.reverted, source.stats.dropped) == (1, 1, 1)
        assert source.tracked == 0
    finally:
        await source.close()
        await task


async def test_malformed_foreign_and_huge_transactions_are_refused() -> None:
    node, feed, hooks = FakeNode(), FakeFeed(), Hooks()
    source = _source(node, feed, hooks)
    selector = _calldata()[:10]
    batch = [
        _tx(1, selector + "00" * 40),  # truncated matchOrders
        _tx(2, "0xdeadbeef"),  # another exchange call: ignored, not an error
        _tx(3, _calldata(), to="0x" + "99" * 20),  # a leader's match sent to another contract
        _tx(4, selector + "ab" * 10_000),  # over max_tx_bytes
        _tx(5, "not hex"),
        {"hash": "0x" + "06" * 32, "to": EXCHANGE},  # no input at all
        _tx(7, _calldata()),  # the one good one
    ]
    assert [s.tx_hash for s in source.signals_of(batch)] == [batch[-1]["hash"]]
    assert source.rejects.by_reason == {"log_layout": 3, "tx_too_large": 1}
    assert source.stats.pending_seen == 6


async def test_a_lost_feed_degrades_and_reconnects() -> None:
    node, feed, hooks, sink = FakeNode(), FakeFeed(), Hooks(), Sink()
    source = _source(node, feed, hooks)
    task = await _running(source, sink)
    try:
        await feed.queue.put([])
        await _until(lambda: source.health is SourceHealth.HEALTHY)
        await feed.queue.put(FeedError("websocket closed"))
        await _until(lambda: source.stats.feed_errors == 1)
        assert _health(source) is SourceHealth.DEGRADED
        tx = _tx(1, _calldata(Side.SELL))
        await feed.queue.put([tx])
        await _until(lambda: len(sink.signals) == 1)
        assert feed.iterations == 2
        assert _health(source) is SourceHealth.HEALTHY
        node.fail = True  # the node stops answering block reads: degraded, then back, no block skipped
        await _until(lambda: source.stats.block_errors >= 1)
        node.mine(tx)
        node.fail = False
        await _until(lambda: hooks.confirmed == [sink.signals[0].key])
    finally:
        await source.close()
        await task
    assert source.health is SourceHealth.DOWN


def test_fill_time_is_the_sighting() -> None:
    node, feed, hooks = FakeNode(), FakeFeed(), Hooks()
    at = datetime(2026, 12, 6, tzinfo=UTC)
    source = _source(node, feed, hooks, clock=lambda: at)
    [signal] = source.signals_of([_tx(1, _calldata())])
    assert signal.fill_time == signal.seen_at == at
    assert signal.price * signal.size == 6


async def test_a_fill_seen_before_the_first_block_read_is_not_taken_for_dropped() -> None:
    node, feed, hooks, sink = FakeNode(), FakeFeed(), Hooks(), Sink()
    for _ in range(50):
        node.mine()  # a chain 50 blocks long: a sighting dated block 0 would look 50 blocks old
    source = _source(node, feed, hooks)
    tx = _tx(1, _calldata())
    node.pool[tx["hash"]] = tx
    await feed.queue.put([tx])
    task = await _running(source, sink)
    try:
        await _until(lambda: len(sink.signals) == 1 and source.stats.head_block == 50)
        node.mine()
        await _until(lambda: source.stats.head_block == 51)
        assert hooks.retracted == []  # still pending, one block after its sighting
        node.mine(tx)
        await _until(lambda: hooks.confirmed == [sink.signals[0].key])
    finally:
        await source.close()
        await task


async def test_a_websocket_that_cannot_connect_is_a_feed_error_without_the_urls_key() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    feed = WsPendingFeed(f"ws://127.0.0.1:{port}/v2/SECRET-API-KEY")
    try:
        with pytest.raises(FeedError) as err:
            await anext(feed.batches())
        assert "SECRET" not in str(err.value)
        assert f"127.0.0.1:{port}" in str(err.value)
    finally:
        await feed.close()
