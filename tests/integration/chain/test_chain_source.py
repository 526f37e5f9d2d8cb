"""The CHAIN source against a real anvil: every leader fill mirrored by FillMirror is seen exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursor_store_sql import SqlCursorStore
from polyhunter.ingest.cursors import Cursor, MemoryCursorStore
from polyhunter.ports.sources import SourceHealth
from polyhunter.settings import DbSettings, load_settings
from polyhunter.sim.chain_mirror import ChainMirror, MirrorLeg, MirrorMatch
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.chain_matches import (
    TOKENS,
    ExpectedFill,
    address,
    expected_fills,
    order_hash,
    random_match,
)

pytestmark = pytest.mark.integration


async def _collect(source: ChainLogSource, count: int, timeout_s: float = 30.0) -> list[Signal]:
    out: list[Signal] = []

    async def run() -> None:
        async for signal in source.signals():
            out.append(signal)
            if len(out) >= count:
                return

    await asyncio.wait_for(run(), timeout_s)
    return out


async def _drain_extra(source: ChainLogSource, wait_s: float) -> list[Signal]:
    """Signals that arrive within ``wait_s`` (there should be none once everything was collected)."""
    out: list[Signal] = []

    async def run() -> None:
        async for signal in source.signals():
            out.append(signal)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run(), wait_s)
    return out


def _source(rpc: JsonRpcClient, mirror: ChainMirror, leaders: list[str], **kw: object) -> ChainLogSource:
    return ChainLogSource(
        rpc,
        exchanges=[mirror.address],
        leaders=leaders,
        cursor_store=kw.pop("cursor_store", MemoryCursorStore()),  # type: ignore[arg-type]
        poll_interval_ms=50,
        **kw,  # type: ignore[arg-type]
    )


def _assert_matches(signals: list[Signal], expected: list[ExpectedFill]) -> None:
    by_key = {s.key: s for s in signals}
    assert len(by_key) == len(signals), "a fill was emitted twice"
    assert set(by_key) == {e.key for e in expected}
    for fill in expected:
        signal = by_key[fill.key]
        assert (signal.leader, signal.asset, signal.side, signal.size, signal.price) == (
            fill.leader,
            fill.asset,
            fill.side,
            fill.size,
            fill.price,
        )
        assert signal.source is SourceKind.CHAIN


@pytest.mark.parametrize("layout", [2, 1])
async def test_every_leader_fill_seen_once_with_the_independent_key(
    anvil_url: str, rpc: JsonRpcClient, layout: int
) -> None:
    rng = random.Random(1234 + layout)
    leaders = [address(rng) for _ in range(3)]
    others = [address(rng) for _ in range(4)]
    mirror = ChainMirror(anvil_url, layout=layout, shape="legs")  # type: ignore[arg-type]
    await mirror.start()
    source = _source(rpc, mirror, leaders, start_block=await rpc.block_number() + 1)
    try:
        matches = [random_match(rng, leaders, others) for _ in range(50)]
        # one leader with two identical resting orders in one match: told apart by the ordinal
        twin = MirrorLeg(order_hash(rng), leaders[0], Side.SELL, TOKENS[0], 1_000_000, 450_000)
        matches.append(
            MirrorMatch(order_hash(rng), others[0], Side.BUY, TOKENS[0], 900_000, 2_000_000, [twin, twin])
        )
        futures = [mirror.submit(m) for m in matches]  # queued without waiting
        tx_hashes = await asyncio.gather(*futures)
        assert await mirror.drain() == tx_hashes
        assert len(set(tx_hashes)) == len(matches)  # one transaction per match
        expected = [
            f for m, tx in zip(matches, tx_hashes, strict=True) for f in expected_fills(m, tx, set(leaders))
        ]
        assert any(f.leader == m.taker for m in matches for f in expected)  # leaders also took liquidity
        signals = await _collect(source, len(expected))
        signals += await _drain_extra(source, 0.5)
        _assert_matches(signals, expected)
        assert source.stats.taker_legs == sum(1 for m in matches if m.taker in leaders)
        assert source.health is SourceHealth.HEALTHY
        receipt_blocks = {}
        for tx in tx_hashes:
            receipt = await rpc.get_transaction_receipt(tx)
            assert receipt is not None
            block = await rpc.get_block_by_number(int(receipt["blockNumber"], 16))
            assert block is not None
            receipt_blocks[tx] = datetime.fromtimestamp(int(block["timestamp"], 16), UTC)
        assert all(s.fill_time == receipt_blocks[s.tx_hash] for s in signals)
    finally:
        await source.close()
        await mirror.close()


async def test_confirmations_hold_back_recent_blocks(rpc: JsonRpcClient, mirror: ChainMirror) -> None:
    rng = random.Random(7)
    leader = address(rng)
    source = _source(rpc, mirror, [leader], confirmations=3, start_block=await rpc.block_number() + 1)
    try:
        match = MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[1], 520_000, 1_000_000, [])
        tx = await mirror.emit_match(match)
        await rpc.wait_for_receipt(tx)  # anvil mines just after answering eth_sendTransaction
        assert await source.poll_once() == 0  # mined, but not 3 blocks deep
        await rpc.call("anvil_mine", [hex(2)])
        assert await source.poll_once() == 0
        await rpc.call("anvil_mine", [hex(1)])
        assert await source.poll_once() == 1
        [signal] = await _collect(source, 1)
        assert signal.tx_hash == tx
        assert signal.price == Decimal("0.52")
        assert signal.size == Decimal(1)
    finally:
        await source.close()


async def test_cursor_persists_and_restart_resumes_without_loss(
    rpc: JsonRpcClient, mirror: ChainMirror
) -> None:
    rng = random.Random(11)
    leader = address(rng)
    store = MemoryCursorStore()
    start = await rpc.block_number() + 1

    def match() -> MirrorMatch:
        return MirrorMatch(order_hash(rng), leader, Side.SELL, TOKENS[0], 3_000_000, 1_200_000, [])

    first_txs = [await mirror.emit_match(match()) for _ in range(3)]
    source = _source(rpc, mirror, [leader], start_block=start, cursor_store=store)
    got = await _collect(source, 3)
    assert [s.tx_hash for s in got] == first_txs
    await _drain_extra(source, 0.3)  # the consumer asked for more: the cursor is committed
    await source.close()
    saved = await store.load("*", "chain:default")
    assert saved is not None
    assert saved.last_ts >= await rpc.block_number() - 1

    later_txs = [await mirror.emit_match(match()) for _ in range(2)]
    restarted = _source(rpc, mirror, [leader], start_block=start, cursor_store=store)
    try:
        again = await _collect(restarted, 2)
        again += await _drain_extra(restarted, 0.3)
        assert [s.tx_hash for s in again] == later_txs  # nothing lost, nothing repeated
    finally:
        await restarted.close()


async def test_from_settings_uses_ingest_settings(rpc: JsonRpcClient, mirror: ChainMirror) -> None:
    settings = load_settings(
        overrides={
            "venue": {"chain_rpc_url": rpc.url, "chain_id": 31337},
            "ingest": {"chain_poll_interval_ms": 50},
        }
    )
    rng = random.Random(3)
    leader = address(rng)
    source = ChainLogSource.from_settings(
        settings, leaders=[leader], cursor_store=MemoryCursorStore(), extra_exchanges=[mirror.address]
    )
    try:
        tx = await mirror.emit_match(
            MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[0], 10_000, 20_000, [])
        )
        # no cursor and no start block: the source starts at the head, so this fill predates it
        await rpc.wait_for_receipt(tx)
        await source.poll_once()
        later = await mirror.emit_match(
            MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[0], 10_000, 20_000, [])
        )
        [signal] = await _collect(source, 1)
        assert signal.tx_hash == later != tx
    finally:
        await source.close()


async def test_cursor_in_the_database_round_trips_block_and_hash(
    rpc: JsonRpcClient, mirror: ChainMirror, tmp_path: Path
) -> None:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path}/cursors.db")
    await upgrade(db)
    engine = create_engine(db)
    try:
        store = SqlCursorStore(create_session_factory(engine))
        probe = Cursor("*", "chain:probe", 5, frozenset({"blockhash:0x" + "ab" * 32}))
        await store.save(probe)  # the contract the source relies on
        assert await store.load("*", "chain:probe") == probe
        rng = random.Random(17)
        leader = address(rng)
        start = await rpc.block_number() + 1
        first = await mirror.emit_match(
            MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[0], 10_000, 20_000, [])
        )
        source = _source(rpc, mirror, [leader], start_block=start, cursor_store=store)
        assert [s.tx_hash for s in await _collect(source, 1)] == [first]
        await _drain_extra(source, 0.3)
        await source.close()
        assert source.stats.cursor_errors == 0, source.stats.last_error
        saved = await store.load("*", "chain:default")
        assert saved is not None
        header = await rpc.get_block_by_number(saved.last_ts)
        assert header is not None
        assert saved.seen_keys == {"blockhash:" + header["hash"]}
        second = await mirror.emit_match(
            MirrorMatch(order_hash(rng), leader, Side.SELL, TOKENS[0], 20_000, 9_000, [])
        )
        restarted = _source(rpc, mirror, [leader], start_block=start, cursor_store=store)
        got = await _collect(restarted, 1) + await _drain_extra(restarted, 0.3)
        await restarted.close()
        assert [s.tx_hash for s in got] == [second]
        assert restarted.stats.reorgs == 0
    finally:
        await engine.dispose()


async def test_node_chain_id(rpc: JsonRpcClient) -> None:
    assert await rpc.chain_id() == 31337
