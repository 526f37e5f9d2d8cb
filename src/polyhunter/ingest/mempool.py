"""MEMPOOL signal source: a leader's fill seen in the operator's pending ``matchOrders``, before its block.

On the live venue a match is settled by the operator's ``matchOrders`` transaction, which waits in the
mempool until its block (Polygon: ~2 s); ``OrderFilled`` exists only once mined, RTDS reports the fill ~0.8 s
after the block, the Data API 10 s and more. This source reads pending transactions (``mempool_feeds.py``: a
``newPendingTransactions`` subscription, or a ``txpool_content`` poll), keeps those sent to the exchange
contracts, decodes their calldata (``adapters/chain/match_orders.py``) and emits the fills of followed
leaders (maker or taker) with the key the mined fill will have from every other source (``domain/signal.py``:
the transaction hash is known before mining; the amounts follow from the calldata; identical legs numbered
in emission order, as the chain source numbers logs).

A pending fill is *provisional* (``Signal.provisional``). Every ``poll_interval`` the source reads the new
blocks (full transactions) and settles what it handed on:

* mined with status 1: *confirmed* (``on_confirm``: configs that wait for mined fills copy it now);
* mined with status 0 (reverted), or another transaction of the same sender and nonce mined (replaced):
  *retracted* at once (``on_retract``);
* not mined within ``drop_after_blocks`` blocks of its sighting and gone from the node: dropped, retracted;
  still pending after twice that: retracted as not mined (if it is mined later, RTDS or the chain report it
  and the mux confirms it then).

Failures: a lost feed (websocket closed, node unreachable) is retried with exponential backoff (health
DEGRADED); so is a failing block read, which resumes from the last block read, so no block is skipped.
Malformed calldata, a transaction larger than ``max_tx_bytes`` or holding impossible amounts is rejected
and counted by reason (``rejects``); a transaction to another contract is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from polyhunter.adapters.chain.abi import AbiError, hex_to_bytes
from polyhunter.adapters.chain.match_orders import (
    CalldataError,
    PendingFill,
    decode_match_orders,
    is_match_orders,
)
from polyhunter.adapters.chain.rpc import RpcError, RpcTransportError, parse_quantity
from polyhunter.domain.signal import Signal, SourceKind, from_micro, signal_key
from polyhunter.ingest.mempool_feeds import FeedError, PendingFeed, PendingTx, TxpoolFeed, WsPendingFeed
from polyhunter.ingest.metrics import RejectCounter
from polyhunter.ingest.source_deps import ConfirmHandler, RetractHandler, SourceDeps
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalSink, SourceHealth
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

TX_TOO_LARGE = "tx_too_large"
_ERRORS = (RpcError, RpcTransportError, FeedError, TimeoutError, OSError, ValueError, KeyError, TypeError)


class BlockReader(Protocol):
    """What the source reads of blocks (:class:`JsonRpcClient` is one)."""

    async def block_number(self) -> int: ...

    async def get_block_by_number(self, block: int | str, *, full: bool = False) -> dict[str, Any] | None: ...

    async def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None: ...

    async def call(self, method: str, params: Sequence[object] = ()) -> Any: ...


@dataclass(slots=True)
class MempoolStats:
    pending_seen: int = 0  # pending transactions to the exchanges read
    signals_emitted: int = 0  # leader fills handed to the mux
    confirmed: int = 0
    dropped: int = 0
    replaced: int = 0
    reverted: int = 0
    not_mined: int = 0
    evicted: int = 0  # tracked fills given up for room (neither confirmed nor retracted)
    feed_errors: int = 0
    block_errors: int = 0
    reconnects: int = 0
    head_block: int | None = None
    last_error: str = ""


@dataclass(slots=True)
class _Tracked:
    signals: list[Signal]
    sender: str
    nonce: int
    first_block: int
    checked: set[str] = field(default_factory=set)


class MempoolSource:
    """A ``SignalSource`` of provisional leader fills from pending ``matchOrders`` transactions."""

    def __init__(
        self,
        feed: PendingFeed,
        rpc: BlockReader,
        *,
        exchanges: Sequence[str],
        leaders: Iterable[str],
        poll_interval_ms: int = 100,
        drop_after_blocks: int = 10,
        max_tracked: int = 10_000,
        max_tx_bytes: int = 256 * 1024,
        backoff_max_ms: int = 10_000,
        on_confirm: ConfirmHandler | None = None,
        on_retract: RetractHandler | None = None,
        clock: Callable[[], datetime] | None = None,
        rejects: RejectCounter | None = None,
    ) -> None:
        if not exchanges:
            raise ValueError("at least one exchange address is needed")
        self._feed = feed
        self._rpc = rpc
        self._exchanges = frozenset(a.lower() for a in exchanges)
        self._leaders: frozenset[str] = frozenset()
        self.set_leaders(leaders)
        self._interval_s = poll_interval_ms / 1000
        self._drop_after = drop_after_blocks
        self._max_tracked = max_tracked
        self._max_tx_hex = 2 + 2 * max_tx_bytes
        self._backoff_max_s = backoff_max_ms / 1000
        self._on_confirm = on_confirm
        self._on_retract = on_retract
        self._clock = clock or (lambda: datetime.now(UTC))
        self.rejects = rejects if rejects is not None else RejectCounter(SourceKind.MEMPOOL.value)
        self._seen: dict[str, None] = {}  # pending hashes read (bounded): the txpool poll repeats them
        self._tracked: dict[str, _Tracked] = {}  # tx hash -> fills handed on, not yet settled
        self._by_nonce: dict[tuple[str, int], str] = {}
        self._meta: dict[str, tuple[str, int]] = {}  # (sender, nonce) of the last batch's leader txs
        self._next_block: int | None = None
        self._feed_ok = False
        self._blocks_ok = False
        self._closed = asyncio.Event()
        self.stats = MempoolStats()

    # --- SignalSource --------------------------------------------------------------------------------

    @property
    def kind(self) -> SourceKind:
        return SourceKind.MEMPOOL

    @property
    def health(self) -> SourceHealth:
        if self._closed.is_set():
            return SourceHealth.DOWN
        if self._feed_ok and self._blocks_ok:
            return SourceHealth.HEALTHY
        if self.stats.feed_errors or self.stats.block_errors:
            return SourceHealth.DEGRADED
        return SourceHealth.CONNECTING

    @property
    def feed(self) -> PendingFeed:
        return self._feed

    @property
    def tracked(self) -> int:
        return len(self._tracked)

    def set_leaders(self, leaders: Iterable[str]) -> None:
        self._leaders = frozenset(a.lower() for a in leaders)

    async def run(self, sink: SignalSink) -> None:
        """Read pending transactions and settle them against new blocks until :meth:`close`."""
        tasks = [
            asyncio.create_task(self._read_feed(sink), name="mempool-feed"),
            asyncio.create_task(self._watch_blocks(), name="mempool-blocks"),
        ]
        closer = asyncio.create_task(self._closed.wait())
        try:
            await asyncio.wait([*tasks, closer], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                error = task.exception() if task.done() else None
                if error is not None:
                    raise error
        finally:
            closer.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, closer, return_exceptions=True)

    async def close(self) -> None:
        self._closed.set()
        await self._feed.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout=seconds)

    # --- pending transactions ------------------------------------------------------------------------

    async def _read_feed(self, sink: SignalSink) -> None:
        failures = 0
        while not self._closed.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                async for batch in self._feed.batches():
                    self._feed_ok = True
                    failures = 0
                    admitted = [s for s in self.signals_of(batch) if sink.admit(s)]
                    if admitted:
                        self._track(admitted)
                        self.stats.signals_emitted += len(admitted)
                        await sink.hand_off_soon(admitted)
            except _ERRORS as exc:
                failures += 1
                self._feed_ok = False
                self.stats.feed_errors += 1
                self.stats.reconnects += 1
                self.stats.last_error = f"feed: {type(exc).__name__}: {exc}"
                log.warning("mempool.feed_lost", error=self.stats.last_error, failures=failures)
            await self._sleep(min(self._backoff_max_s, self._interval_s * 2 ** min(failures, 16)))

    def signals_of(self, batch: Iterable[PendingTx]) -> list[Signal]:
        """The followed leaders' fills in the new pending ``matchOrders`` of ``batch`` (pure but for the
        seen set and the reject counts)."""
        out: list[Signal] = []
        self._meta.clear()
        for tx in batch:
            tx_hash = str(tx.get("hash", "")).lower()
            if not tx_hash or tx_hash in self._seen:
                continue
            self._remember_seen(tx_hash)
            if str(tx.get("to") or "").lower() not in self._exchanges:
                continue  # another contract
            self.stats.pending_seen += 1
            signals = self._decode(tx_hash, tx)
            if signals:
                self._meta[tx_hash] = _sender_nonce(tx)
                out += signals
        return out

    def _remember_seen(self, tx_hash: str) -> None:
        self._seen[tx_hash] = None
        if len(self._seen) > 8 * self._max_tracked:
            del self._seen[next(iter(self._seen))]

    def _decode(self, tx_hash: str, tx: PendingTx) -> list[Signal]:
        data = tx.get("input", tx.get("data"))
        if not isinstance(data, str):
            self.rejects.reject(CalldataError("").reason, "no input", tx=tx_hash)
            return []
        if len(data) > self._max_tx_hex:
            self.rejects.reject(TX_TOO_LARGE, f"{len(data) // 2} bytes", tx=tx_hash)
            return []
        try:
            raw = hex_to_bytes(data)
            if not is_match_orders(raw):
                return []  # another exchange call (cancel, fill for one order, admin)
            fills = decode_match_orders(raw)
        except (CalldataError, AbiError) as exc:
            reason = exc.reason if isinstance(exc, CalldataError) else "log_layout"
            self.rejects.reject(reason, str(exc)[:200], tx=tx_hash)
            return []
        return fill_signals(tx_hash, fills, self._leaders, self._clock())

    # --- settling against blocks ---------------------------------------------------------------------

    def _track(self, signals: list[Signal]) -> None:
        by_tx: dict[str, list[Signal]] = {}
        for signal in signals:
            by_tx.setdefault(signal.tx_hash, []).append(signal)
        head = self.stats.head_block if self.stats.head_block is not None else -1  # -1: at the next read
        for tx_hash, group in by_tx.items():
            tracked = self._tracked.get(tx_hash)
            if tracked is not None:
                tracked.signals += group
                continue
            sender, nonce = self._meta.get(tx_hash, ("", -1))
            self._tracked[tx_hash] = _Tracked(group, sender, nonce, head)
            if sender:
                self._by_nonce[(sender, nonce)] = tx_hash
        while len(self._tracked) > self._max_tracked:
            oldest = next(iter(self._tracked))
            self._untrack(oldest)
            self.stats.evicted += 1

    def _untrack(self, tx_hash: str) -> _Tracked | None:
        tracked = self._tracked.pop(tx_hash, None)
        if tracked is not None and self._by_nonce.get((tracked.sender, tracked.nonce)) == tx_hash:
            del self._by_nonce[(tracked.sender, tracked.nonce)]
        return tracked

    async def _watch_blocks(self) -> None:
        failures = 0
        while not self._closed.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                await self.settle_blocks()
                self._blocks_ok = True
                failures = 0
                await self._sleep(self._interval_s)
            except _ERRORS as exc:
                failures += 1
                self._blocks_ok = False
                self.stats.block_errors += 1
                self.stats.last_error = f"blocks: {type(exc).__name__}: {exc}"
                log.warning("mempool.blocks_failed", error=self.stats.last_error, failures=failures)
                await self._sleep(min(self._backoff_max_s, self._interval_s * 2 ** min(failures, 16)))

    async def settle_blocks(self) -> None:
        """Read every block since the last one read; confirm or retract what they settle."""
        head = await self._rpc.block_number()
        if self._next_block is None:
            self._next_block = head
        while self._next_block <= head:
            block = await self._rpc.get_block_by_number(self._next_block, full=True)
            if block is None:
                break  # not served yet: read it again next time
            await self._settle_block(block)
            self._next_block += 1
        self.stats.head_block = head
        await self._expire(head)

    async def _settle_block(self, block: dict[str, Any]) -> None:
        for tx in block.get("transactions", []):
            if not isinstance(tx, dict):
                continue
            tx_hash = str(tx.get("hash", "")).lower()
            if tx_hash in self._tracked:
                await self._mined(tx_hash)
                continue
            if not self._by_nonce:
                continue
            replaced = self._by_nonce.get(_sender_nonce(tx))
            if replaced is not None and replaced != tx_hash:
                self.stats.replaced += 1
                await self._retract(replaced, "replaced")

    async def _mined(self, tx_hash: str) -> None:
        receipt = await self._rpc.get_transaction_receipt(tx_hash)
        if receipt is None:
            return  # not served yet: the expiry check finds it mined later
        if receipt.get("status") == "0x1":
            tracked = self._untrack(tx_hash)
            if tracked is None:
                return
            self.stats.confirmed += 1
            for signal in tracked.signals:
                if self._on_confirm is not None:
                    await self._on_confirm(signal)
        else:
            self.stats.reverted += 1
            await self._retract(tx_hash, "reverted")

    async def _expire(self, head: int) -> None:
        """Fills not mined within ``drop_after_blocks``: dropped if gone from the node, else re-checked."""
        for entry in self._tracked.values():
            if entry.first_block < 0:  # seen before the first block was read
                entry.first_block = head
        late = [h for h, t in self._tracked.items() if head - t.first_block >= self._drop_after]
        for tx_hash in late:
            tracked = self._tracked.get(tx_hash)
            if tracked is None:
                continue
            tx = await self._rpc.call("eth_getTransactionByHash", [tx_hash])
            if isinstance(tx, dict) and tx.get("blockNumber") is not None:
                await self._mined(tx_hash)  # mined in a block this source did not read
            elif tx is None:
                self.stats.dropped += 1
                await self._retract(tx_hash, "dropped")
            elif head - tracked.first_block >= 2 * self._drop_after:
                self.stats.not_mined += 1
                await self._retract(tx_hash, "not_mined")

    async def _retract(self, tx_hash: str, reason: str) -> None:
        tracked = self._untrack(tx_hash)
        if tracked is None:
            return
        for signal in tracked.signals:
            log.warning(
                "mempool.signal_retracted", key=signal.key, tx=tx_hash, leader=signal.leader, reason=reason
            )
            if self._on_retract is not None:
                try:
                    await self._on_retract(signal)
                except Exception as exc:  # noqa: BLE001 - a failing consumer hook must not stop the source
                    log.error(
                        "mempool.retract_hook_failed", key=signal.key, error=f"{type(exc).__name__}: {exc}"
                    )


def _sender_nonce(tx: PendingTx) -> tuple[str, int]:
    try:
        return str(tx.get("from", "")).lower(), parse_quantity(tx.get("nonce"))
    except (RpcTransportError, ValueError):
        return "", -1


def fill_signals(
    tx_hash: str, fills: Sequence[PendingFill], leaders: frozenset[str], seen_at: datetime
) -> list[Signal]:
    """Signals of the followed leaders' fills of one pending transaction, keyed like the mined fill (legs
    identical in leader, token, side and size numbered in emission order, as the chain source numbers logs)."""
    count: Counter[tuple[str, int, str, int]] = Counter()
    out: list[Signal] = []
    for fill in fills:
        if fill.maker not in leaders:
            continue
        identity = (fill.maker, fill.token_id, str(fill.side), fill.shares_micro)
        ordinal = count[identity]
        count[identity] += 1
        asset = str(fill.token_id)
        out.append(
            Signal(
                key=signal_key(tx_hash, fill.maker, asset, fill.side, fill.shares_micro, ordinal),
                leader=fill.maker,
                asset=asset,
                condition_id="",
                side=fill.side,
                size=from_micro(fill.shares_micro),
                price=Decimal(fill.usdc_micro) / Decimal(fill.shares_micro),
                tx_hash=tx_hash,
                fill_time=seen_at,
                seen_at=seen_at,
                source=SourceKind.MEMPOOL,
            )
        )
    return out


def mempool_source(deps: SourceDeps) -> MempoolSource:
    """The ingest service's factory: pending transactions from ``ingest.mempool_url`` (a websocket
    subscription, or a ``txpool_content`` poll over HTTP), blocks from the chain node (or that URL)."""
    settings, clients = deps.settings, deps.clients
    ing = settings.ingest
    url = ing.mempool_url
    blocks = clients.rpc or clients.mempool
    if url is None or blocks is None:
        raise ValueError(
            "the mempool source needs ingest.mempool_url (and venue.chain_rpc_url for a websocket)"
        )
    feed: PendingFeed
    if url.startswith(("ws://", "wss://")):
        feed = WsPendingFeed(
            url, rpc=blocks, max_msg_bytes=max(ing.ws_max_msg_bytes, 2 * ing.mempool_max_tx_bytes + 4096)
        )
    else:
        feed = TxpoolFeed(clients.mempool or blocks, ing.mempool_poll_interval_ms / 1000)
    source = MempoolSource(
        feed,
        blocks,
        exchanges=[*ing.chain_exchange_addresses, *settings.venue.exchange_v3, *deps.extra_exchanges],
        leaders=deps.leaders,
        poll_interval_ms=ing.mempool_poll_interval_ms,
        drop_after_blocks=ing.mempool_drop_after_blocks,
        max_tracked=ing.mempool_max_tracked,
        max_tx_bytes=ing.mempool_max_tx_bytes,
        backoff_max_ms=ing.reconnect_backoff_max_ms,
        on_confirm=deps.on_confirm,
        on_retract=deps.on_retract,
    )
    deps.metrics.rejects[SourceKind.MEMPOOL.value] = source.rejects
    return source
