"""ChainLogSource against an in-memory chain: removed logs, races with re-orgs, deep re-orgs, cursor, errors."""

from __future__ import annotations

import asyncio

from polyhunter.domain.signal import Signal
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import Cursor, MemoryCursorStore
from polyhunter.ports.sources import SourceHealth
from tests.support.exchange_logs import EXCHANGE, LEADER, OTHER, v2_log
from tests.support.fake_chain import FakeChain


def _log(shares: int, tx_byte: str, maker: str = LEADER) -> dict[str, object]:
    return {**v2_log(maker, OTHER, 0, shares // 2, shares), "transactionHash": "0x" + tx_byte * 32}


class Retracted(list[Signal]):
    async def __call__(self, signal: Signal) -> None:
        self.append(signal)


def _source(chain: FakeChain, **kw: object) -> tuple[ChainLogSource, MemoryCursorStore, Retracted]:
    store = kw.pop("cursor_store", None) or MemoryCursorStore()
    retracted = Retracted()
    source = ChainLogSource(
        chain,
        exchanges=[EXCHANGE],
        leaders=[LEADER],
        cursor_store=store,  # type: ignore[arg-type]
        poll_interval_ms=50,
        on_retract=retracted,
        **kw,  # type: ignore[arg-type]
    )
    return source, store, retracted  # type: ignore[return-value]


def _health(source: ChainLogSource) -> SourceHealth:
    """The source's health read afresh: mypy keeps an earlier assert's narrowing across an await."""
    return source.health


async def _take(source: ChainLogSource, count: int) -> list[Signal]:
    iterator = source.signals()
    return [await asyncio.wait_for(anext(iterator), 5) for _ in range(count)]


async def test_removed_log_retracts_a_handed_out_signal() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1)
    chain.mine(_log(1_000_000, "01"))
    [signal] = await _take(source, 1)
    chain.extra_logs = [{**chain.blocks[1]["logs"][0], "removed": True}]
    chain.mine()
    assert await source.poll_once() == 0
    assert [s.key for s in retracted] == [signal.key]
    assert source.stats.retracted == 1


async def test_removed_log_of_a_vanished_block_still_retracts() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1)
    chain.mine(_log(1_000_000, "01"))
    [signal] = await _take(source, 1)
    gone = {
        **chain.blocks[1]["logs"][0],
        "removed": True,
        "blockNumber": "0x63",
        "blockHash": "0x" + "99" * 32,
    }
    chain.extra_logs = [gone]
    chain.mine()
    assert await source.poll_once() == 0
    assert [s.key for s in retracted] == [signal.key]


async def test_removed_log_discards_a_buffered_signal() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1)
    chain.mine(_log(1_000_000, "01"))
    removed = {**v2_log(LEADER, OTHER, 0, 500_000, 1_000_000), "transactionHash": "0x" + "01" * 32}
    chain.extra_logs = [
        {
            **removed,
            "blockNumber": "0x1",
            "blockHash": chain.blocks[1]["hash"],
            "logIndex": "0x0",
            "address": EXCHANGE,
            "removed": True,
        }
    ]
    assert await source.poll_once() == 1
    chain.mine(_log(2_000_000, "02"))
    assert await source.poll_once() == 1
    [only] = await _take(source, 1)
    assert only.tx_hash == "0x" + "02" * 32  # the first one never left the source
    assert retracted == []


async def test_batch_read_across_a_reorg_is_read_again() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1)
    chain.mine(_log(1_000_000, "01"))

    def reorg_now() -> None:
        chain.reorg(1)
        chain.mine(_log(3_000_000, "03"))

    chain.during_get_logs = reorg_now
    assert await source.poll_once() == 0  # block 1 changed while reading: thrown away
    assert source.cursor == 0
    assert await source.poll_once() == 1
    [signal] = await _take(source, 1)
    assert signal.tx_hash == "0x" + "03" * 32
    assert retracted == []


async def test_a_pending_log_is_not_final_and_its_batch_is_read_again() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1)
    chain.mine(_log(1_000_000, "01"))
    pending = {**chain.blocks[1]["logs"][0], "blockHash": None, "blockNumber": None}
    chain.extra_logs = [pending]  # a node answering with a log of a block still being built
    assert await source.poll_once() == 0  # neither a crash nor a decode error that skips the block
    assert source.cursor == 0
    assert source.stats.partial_logs == 1
    assert source.stats.decode_errors == 0
    assert await source.poll_once() == 1
    [signal] = await _take(source, 1)
    assert signal.tx_hash == "0x" + "01" * 32
    assert retracted == []


async def test_a_log_without_block_fields_does_not_crash_the_source() -> None:
    chain = FakeChain()
    source, _, _ = _source(chain, start_block=1)
    chain.mine(_log(2_000_000, "02"))
    partial = {k: v for k, v in chain.blocks[1]["logs"][0].items() if k not in ("blockHash", "blockNumber")}
    chain.extra_logs = [partial]
    [signal] = await _take(source, 1)  # the iterator re-reads instead of raising KeyError
    assert signal.tx_hash == "0x" + "02" * 32
    assert source.stats.partial_logs == 1
    assert source.stats.signals_emitted == 1


async def test_reorg_deeper_than_the_window_rescans_and_retracts() -> None:
    chain = FakeChain()
    source, _, retracted = _source(chain, start_block=1, reorg_window_blocks=2)
    for tx in ("01", "02", "03", "04"):
        chain.mine(_log(1_000_000, tx))
        await source.poll_once()
    handed_out = await _take(source, 4)
    assert len(handed_out) == 4
    chain.reorg(4)  # back to genesis: deeper than the 2-block window
    chain.mine(_log(1_000_000, "01"))  # tx 01 included again
    for _ in range(3):
        chain.mine()
    await source.poll_once()
    assert sorted(s.tx_hash[2:4] for s in retracted) == ["02", "03", "04"]
    assert source.stats.reorgs == 1


async def test_cursor_is_committed_only_after_the_consumer_moves_on() -> None:
    chain = FakeChain()
    source, store, _ = _source(chain, start_block=1, cursor_name="t")
    chain.mine(_log(1_000_000, "01"), _log(2_000_000, "02"))
    iterator = source.signals()
    await anext(iterator)
    await anext(iterator)  # both handed out; the consumer has not asked again yet
    assert await store.load("*", "chain:t") is None
    chain.mine()
    next_call = asyncio.ensure_future(anext(iterator))
    for _ in range(500):  # the consumer asked again: the source commits before it polls
        if (saved := await store.load("*", "chain:t")) is not None:
            break
        await asyncio.sleep(0.01)
    next_call.cancel()
    assert saved is not None
    assert saved.last_ts >= 1
    assert saved.seen_keys == {"blockhash:" + chain.blocks[saved.last_ts]["hash"]}


async def test_restart_on_a_replaced_cursor_block_rescans_the_window() -> None:
    chain = FakeChain()
    for tx in ("01", "02", "03"):
        chain.mine(_log(1_000_000, tx))
    store = MemoryCursorStore()
    await store.save(Cursor("*", "chain:default", 3, frozenset({"blockhash:0x" + "ee" * 32})))
    source, _, _ = _source(chain, cursor_store=store, reorg_window_blocks=2)
    assert await source.poll_once() == 2  # resumed from block 1, not 4
    assert source.stats.reorgs == 1
    await store.save(Cursor("*", "chain:default", 3, frozenset({"blockhash:" + chain.blocks[3]["hash"]})))
    resumed, _, _ = _source(chain, cursor_store=store)
    assert await resumed.poll_once() == 0
    assert resumed.cursor == 3


async def test_many_leaders_are_queried_in_groups() -> None:
    chain = FakeChain()
    leaders = ["0x" + f"{i:02x}" * 20 for i in range(1, 6)]
    source, _, _ = _source(chain, start_block=1, leaders_per_query=2)
    source.set_leaders(leaders)
    chain.mine(*[_log(1_000_000 * (i + 1), f"{i + 1:02x}", maker=a) for i, a in enumerate(leaders)])
    before = chain.get_logs_calls
    assert await source.poll_once() == 5
    assert chain.get_logs_calls - before == 3


async def test_node_errors_degrade_then_recover() -> None:
    chain = FakeChain()
    source, _, _ = _source(chain, start_block=1, error_backoff_max_ms=60)
    chain.mine(_log(1_000_000, "01"))
    chain.fail_next = 2
    [signal] = await _take(source, 1)
    assert signal.tx_hash == "0x" + "01" * 32
    assert source.stats.last_error.startswith("RpcTransportError")
    assert source.stats.consecutive_errors == 0
    assert source.health is SourceHealth.HEALTHY
    await source.close()
    assert _health(source) is SourceHealth.DOWN


async def test_confirmations_and_block_ranges() -> None:
    chain = FakeChain()
    source, _, _ = _source(chain, start_block=1, confirmations=2, max_block_range=2)
    for tx in ("01", "02", "03", "04", "05"):
        chain.mine(_log(1_000_000, tx))
    assert await source.poll_once() == 2  # blocks 1-2 (range limit)
    assert source.health is SourceHealth.DEGRADED  # behind the head
    assert await source.poll_once() == 1  # block 3 = head 5 - 2 confirmations
    assert _health(source) is SourceHealth.HEALTHY
    assert source.stats.lag_blocks == 2


class FlakyStore(MemoryCursorStore):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def save(self, cursor: Cursor) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("database unavailable")
        await super().save(cursor)


async def test_a_failing_cursor_store_does_not_stop_the_source() -> None:
    chain = FakeChain()
    store = FlakyStore(failures=1)
    source, _, _ = _source(chain, start_block=1, cursor_store=store, cursor_name="f")
    chain.mine(_log(1_000_000, "01"))
    chain.mine(_log(2_000_000, "02"))
    got = await _take(source, 2)
    assert [s.tx_hash[2:4] for s in got] == ["01", "02"]
    chain.mine(_log(3_000_000, "03"))
    [third] = await _take(source, 1)  # the save before it failed; reading went on
    assert third.tx_hash[2:4] == "03"
    assert source.stats.cursor_errors == 1
    assert "database unavailable" in source.stats.last_error
    await source.poll_once()  # retried
    saved = await store.load("*", "chain:f")
    assert saved is not None
    assert saved.last_ts == 3


async def test_an_unreadable_cursor_store_delays_the_start_instead_of_skipping() -> None:
    class Unreadable(MemoryCursorStore):
        loads = 0

        async def load(self, leader: str, source: str) -> Cursor | None:
            self.loads += 1
            if self.loads == 1:
                raise OSError("database unavailable")
            return Cursor("*", source, 0)

    chain = FakeChain()
    chain.mine(_log(1_000_000, "01"))  # before the source runs: must not be skipped
    store = Unreadable()
    source, _, _ = _source(chain, cursor_store=store, error_backoff_max_ms=60)
    [signal] = await _take(source, 1)
    assert signal.tx_hash[2:4] == "01"
    assert "CursorUnavailable" in source.stats.last_error
