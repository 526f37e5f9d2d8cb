"""Re-orgs on a real anvil: a fill of a dropped block is not emitted (or is retracted), its replacement is."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side, Signal
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.sim.chain_mirror import ChainMirror, MirrorMatch, encode_match
from tests.support.chain_matches import TOKENS, address, order_hash

pytestmark = pytest.mark.integration


class Retracted:
    def __init__(self) -> None:
        self.signals: list[Signal] = []

    async def __call__(self, signal: Signal) -> None:
        self.signals.append(signal)


async def _next(source: ChainLogSource, timeout_s: float = 10.0) -> Signal:
    iterator = source.signals()
    return await asyncio.wait_for(anext(iterator), timeout_s)


def _match(rng: random.Random, leader: str, shares: int) -> MirrorMatch:
    return MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[0], shares // 2, shares, [])


@dataclass
class Watch:
    rng: random.Random
    leader: str
    retracted: Retracted
    source: ChainLogSource


@asynccontextmanager
async def _watching(rpc: JsonRpcClient, mirror: ChainMirror, seed: int) -> AsyncIterator[Watch]:
    """A chain source reading the mirror's fills of one leader from the next block on; closed on exit."""
    rng = random.Random(seed)
    leader = address(rng)
    retracted = Retracted()
    source = ChainLogSource(
        rpc,
        exchanges=[mirror.address],
        leaders=[leader],
        cursor_store=MemoryCursorStore(),
        poll_interval_ms=50,
        start_block=await rpc.block_number() + 1,
        on_retract=retracted,
    )
    try:
        yield Watch(rng, leader, retracted, source)
    finally:
        await source.close()


async def test_reverted_fill_is_retracted_and_replacement_emitted(
    rpc: JsonRpcClient, mirror: ChainMirror
) -> None:
    async with _watching(rpc, mirror, 21) as w:
        rng, leader, retracted, source = w.rng, w.leader, w.retracted, w.source
        snapshot = await rpc.call("evm_snapshot")
        doomed_tx = await mirror.emit_match(_match(rng, leader, 4_000_000))
        doomed = await _next(source)  # handed out before the re-org
        assert doomed.tx_hash == doomed_tx
        assert await rpc.call("evm_revert", [snapshot]) is True
        replacement_tx = await mirror.emit_match(_match(rng, leader, 6_000_000))
        replacement = await _next(source)
        assert replacement.tx_hash == replacement_tx
        assert [s.key for s in retracted.signals] == [doomed.key]
        assert source.stats.reorgs == 1
        assert source.stats.retracted == 1


async def test_unsent_fill_of_dropped_block_is_never_emitted(rpc: JsonRpcClient, mirror: ChainMirror) -> None:
    async with _watching(rpc, mirror, 22) as w:
        rng, leader, retracted, source = w.rng, w.leader, w.retracted, w.source
        snapshot = await rpc.call("evm_snapshot")
        await rpc.wait_for_receipt(await mirror.emit_match(_match(rng, leader, 4_000_000)))
        assert await source.poll_once() == 1  # read and buffered, not handed out yet
        await rpc.call("evm_revert", [snapshot])
        replacement_tx = await mirror.emit_match(_match(rng, leader, 8_000_000))
        await rpc.wait_for_receipt(replacement_tx)  # anvil mines just after answering eth_sendTransaction
        assert (
            await source.poll_once() == 1
        )  # sees the re-org first: drops the buffered fill, reads the new one
        first = await _next(source)
        assert first.tx_hash == replacement_tx
        assert retracted.signals == []
        assert source.stats.signals_emitted == 1


async def test_same_transaction_reincluded_is_neither_retracted_nor_repeated(
    rpc: JsonRpcClient, mirror: ChainMirror
) -> None:
    async with _watching(rpc, mirror, 23) as w:
        rng, leader, retracted, source = w.rng, w.leader, w.retracted, w.source
        snapshot = await rpc.call("evm_snapshot")
        match = _match(rng, leader, 2_000_000)
        tx = await mirror.emit_match(match)
        raw = await rpc.call("eth_getRawTransactionByHash", [tx])
        block_before = (await rpc.wait_for_receipt(tx))["blockHash"]  # anvil mines after answering the send
        seen = await _next(source)
        await rpc.call("evm_revert", [snapshot])
        await rpc.call("anvil_mine", [hex(1)])  # a different block at the old height
        assert await rpc.call("eth_sendRawTransaction", [raw]) == tx  # the same transaction, one block later
        other_tx = await mirror.emit_match(_match(rng, leader, 3_000_000))
        block_after = (await rpc.wait_for_receipt(tx))["blockHash"]
        assert block_after != block_before
        following = await _next(source)
        assert following.tx_hash == other_tx  # the re-included fill was not handed out again
        assert seen.tx_hash == tx
        assert retracted.signals == []
        assert source.stats.reorgs == 1


async def test_anvil_reorg_replaces_the_block(rpc: JsonRpcClient, mirror: ChainMirror) -> None:
    async with _watching(rpc, mirror, 24) as w:
        rng, leader, retracted, source = w.rng, w.leader, w.retracted, w.source
        doomed = await mirror.emit_match(_match(rng, leader, 5_000_000))
        assert (await _next(source)).tx_hash == doomed
        replacement = _match(rng, leader, 7_000_000)
        tx_request = {
            "from": mirror.operator,
            "to": mirror.address,
            "data": "0x" + encode_match(replacement).hex(),
        }
        await rpc.call("anvil_reorg", [1, [[tx_request, 0]]])
        emitted = await _next(source)
        receipt = await rpc.get_transaction_receipt(emitted.tx_hash)
        assert receipt is not None
        assert emitted.size * 1_000_000 == 7_000_000
        assert await rpc.get_transaction_receipt(doomed) is None
        assert [s.tx_hash for s in retracted.signals] == [doomed]
