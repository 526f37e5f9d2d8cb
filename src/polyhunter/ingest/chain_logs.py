"""CHAIN signal source: polls ``eth_getLogs`` for ``OrderFilled`` (V1 and V2) whose maker is a followed leader.

Per poll: ``head = eth_blockNumber``; blocks ``cursor+1 .. min(head - confirmations, cursor + max_block_range)``
are scanned with ``address`` = the exchanges, ``topic0`` in {V1, V2 OrderFilled}, ``topic2`` in the leaders
(left-padded; split into groups of ``leaders_per_query``). The header of the last block is read before and
after ``eth_getLogs`` and every log's ``blockHash`` is checked against its block's header, so a batch read
across a re-org is thrown away and read again; so is a batch holding a log without ``blockHash`` /
``blockNumber`` (a pending or partial answer, counted in ``stats.partial_logs``). Fill time = block timestamp.

Re-orgs: the source keeps the hashes of recently processed blocks (``reorg_window_blocks``). Each poll checks
the cursor block's hash; on a mismatch it walks back to the newest block whose hash still matches, forgets
everything above it and scans again. Signals of dropped blocks not yet handed out are silently discarded;
those already handed out become *orphans*: if the re-scan finds the same key (the transaction was included
again) nothing happens, otherwise once the scan passes the orphan's old block it is retracted through
``on_retract``. A log delivered with ``removed: true`` is retracted (or discarded) the same way. With
``confirmations`` deeper than any re-org nothing is ever retracted.

Cursor: the last fully processed block, persisted through :class:`~polyhunter.ingest.cursors.CursorStore`
(``Cursor(leader="*", source="chain:<name>", last_ts=<block>)``; ``seen_keys`` holds ``"blockhash:<hash>"`` so a
restart can tell whether the chain changed under it). It is saved only after every signal of the processed
blocks has been handed out and the consumer asked for the next one, so a crash never skips a signal.

Failures: node errors (transport, JSON-RPC, undecodable replies) and an unreadable cursor store are retried with
exponential backoff (health DEGRADED, ``stats.last_error``); the source never starts without its saved cursor.
A failed cursor save is retried at the next commit while reading goes on (a restart then re-reads, never skips).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from polyhunter.adapters.chain.abi import address_topic
from polyhunter.adapters.chain.exchange_events import ORDER_FILLED_TOPICS, LogDecodeError
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError
from polyhunter.adapters.polymarket.wire_validation import InvalidMessage
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.chain_fills import ChainFill, ConditionLookup, decode_leader_logs, fills_to_signals
from polyhunter.ingest.chain_state import ChainSourceStats, ReorgState
from polyhunter.ingest.cursors import Cursor, CursorStore
from polyhunter.ingest.metrics import RejectCounter
from polyhunter.ingest.source_deps import RetractHandler, SourceDeps
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalSink, SourceHealth
from polyhunter.settings import Settings
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

_HASH_TAG = "blockhash:"


class CursorUnavailable(RuntimeError):
    """The cursor store could not be read; the source does not start without its cursor."""


_POLL_ERRORS = (RpcError, RpcTransportError, LogDecodeError, TimeoutError, CursorUnavailable)


class ChainReader(Protocol):
    """What the source reads from a node (:class:`JsonRpcClient` is one)."""

    async def block_number(self) -> int: ...

    async def get_block_by_number(self, block: int | str, *, full: bool = False) -> dict[str, Any] | None: ...

    async def get_logs(
        self,
        *,
        from_block: int | str,
        to_block: int | str,
        addresses: Sequence[str] = (),
        topics: Sequence[str | Sequence[str] | None] = (),
    ) -> list[dict[str, Any]]: ...


class _ChainMoved(Exception):
    """The chain changed while a batch was read; read it again on the next poll."""


def _is_final(entry: dict[str, Any]) -> bool:
    """A log of a mined block: a node may answer with a pending log (``blockHash`` / ``blockNumber`` null)."""
    return isinstance(entry.get("blockHash"), str) and isinstance(entry.get("blockNumber"), str | int)


@dataclass(frozen=True, slots=True)
class _CommitPoint:
    before_seq: int  # ready once no buffered signal has a smaller sequence number
    block: int
    block_hash: str | None


class ChainLogSource:
    """A ``SignalSource``: ``await source.run(sink)`` hands each signal to ``sink.submit_until_taken``
    (the block cursor is committed only past signals it took); ``async for signal in source.signals()``
    reads them without a sink. ``source.health`` / ``source.stats`` at any time."""

    def __init__(
        self,
        rpc: ChainReader,
        *,
        exchanges: Sequence[str],
        leaders: Iterable[str],
        cursor_store: CursorStore,
        cursor_name: str = "default",
        poll_interval_ms: int = 1_000,
        confirmations: int = 0,
        start_block: int | None = None,
        max_block_range: int = 2_000,
        reorg_window_blocks: int = 128,
        leaders_per_query: int = 500,
        error_backoff_max_ms: int = 10_000,
        condition_for: ConditionLookup | None = None,
        on_retract: RetractHandler | None = None,
        clock: Callable[[], datetime] | None = None,
        rejects: RejectCounter | None = None,
    ) -> None:
        if not exchanges:
            raise ValueError("at least one exchange address is needed")
        self._rpc = rpc
        self.rejects = rejects if rejects is not None else RejectCounter(SourceKind.CHAIN.value)
        self._exchanges = sorted({a.lower() for a in exchanges})
        self._leaders: frozenset[str] = frozenset()
        self.set_leaders(leaders)
        self._cursors = cursor_store
        self._cursor_source = f"chain:{cursor_name}"
        self._interval_s = poll_interval_ms / 1000
        self._confirmations = confirmations
        self._start_block = start_block
        self._max_range = max(1, max_block_range)
        self._leaders_per_query = max(1, leaders_per_query)
        self._backoff_max_s = error_backoff_max_ms / 1000
        self._condition_for = condition_for
        self._on_retract = on_retract
        self._clock = clock or (lambda: datetime.now(UTC))
        self._state = ReorgState(reorg_window_blocks)
        self._buffer: deque[tuple[int, ChainFill]] = deque()
        self._next_seq = 0
        self._commits: deque[_CommitPoint] = deque()
        self._cursor: int | None = None
        self._caught_up = False
        self._closed = asyncio.Event()
        self._health = SourceHealth.CONNECTING
        self.stats = ChainSourceStats()
        self._owned_client: JsonRpcClient | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        leaders: Iterable[str],
        cursor_store: CursorStore,
        rpc: JsonRpcClient | None = None,
        extra_exchanges: Sequence[str] = (),
        **options: Any,
    ) -> ChainLogSource:
        venue, ingest = settings.venue, settings.ingest
        client = rpc or rpc_client(settings)
        source = cls(
            client,
            exchanges=[*ingest.chain_exchange_addresses, *venue.exchange_v3, *extra_exchanges],
            leaders=leaders,
            cursor_store=cursor_store,
            cursor_name=str(venue.chain_id),
            poll_interval_ms=ingest.chain_poll_interval_ms,
            confirmations=ingest.chain_confirmations,
            error_backoff_max_ms=ingest.reconnect_backoff_max_ms,
            **options,
        )
        source._owned_client = client if rpc is None else None
        return source

    # --- SignalSource --------------------------------------------------------------------------------

    @property
    def kind(self) -> SourceKind:
        return SourceKind.CHAIN

    @property
    def health(self) -> SourceHealth:
        return self._health

    @property
    def cursor(self) -> int | None:
        """Last block fully read (not necessarily handed out yet)."""
        return self._cursor

    def set_leaders(self, leaders: Iterable[str]) -> None:
        """Follow exactly these funder addresses from the next poll on (no backfill for new ones)."""
        self._leaders = frozenset(a.lower() for a in leaders)

    async def run(self, sink: SignalSink) -> None:
        """Read until :meth:`close`, handing each signal on before the next is read (so the cursor is
        saved only past signals the sink took)."""
        async for signal in self._iterate():
            await sink.submit_until_taken(signal)

    def signals(self) -> AsyncIterator[Signal]:
        return self._iterate()

    def __aiter__(self) -> AsyncIterator[Signal]:
        return self._iterate()

    async def close(self) -> None:
        """Stop the iterator (it ends after the current poll) and close a client made by ``from_settings``."""
        self._closed.set()
        self._health = SourceHealth.DOWN
        client, self._owned_client = self._owned_client, None
        if client is not None:
            await client.close()

    async def _iterate(self) -> AsyncIterator[Signal]:
        while not self._closed.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            await self._commit_ready()
            if self._buffer:
                _, item = self._buffer.popleft()
                self.stats.signals_emitted += 1
                yield item.signal
                continue
            try:
                await self.poll_once()
            except _POLL_ERRORS as exc:
                self._poll_failed(exc)
                await self._sleep(
                    min(self._backoff_max_s, self._interval_s * 2**self.stats.consecutive_errors)
                )
                continue
            if not self._buffer and self._caught_up:
                await self._sleep(self._interval_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout=seconds)

    def _poll_failed(self, exc: BaseException) -> None:
        self.stats.consecutive_errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self._health = SourceHealth.DEGRADED
        log.warning("chain.poll_failed", error=self.stats.last_error, errors=self.stats.consecutive_errors)

    # --- polling ------------------------------------------------------------------------------------

    async def poll_once(self) -> int:
        """One poll: check for a re-org, scan the next range. Returns how many signals were buffered."""
        if self._cursor is None:
            await self._start()
        await self._commit_ready()
        head = await self._rpc.block_number()
        self.stats.head_block = head
        await self._check_reorg()
        cursor = self._require_cursor()
        target = head - self._confirmations
        buffered = 0
        if target > cursor:
            to_block = min(target, cursor + self._max_range)
            try:
                buffered = await self._scan(cursor, to_block)
            except _ChainMoved as moved:
                log.info("chain.batch_moved", reason=str(moved), from_block=cursor + 1, to_block=to_block)
        cursor = self._require_cursor()
        self._caught_up = cursor >= target
        self.stats.cursor_block = cursor
        self.stats.polls += 1
        self.stats.consecutive_errors = 0
        self.stats.last_poll_at = self._clock()
        self._health = SourceHealth.HEALTHY if self._caught_up else SourceHealth.DEGRADED  # behind = late
        return buffered

    def _require_cursor(self) -> int:
        if self._cursor is None:
            raise RuntimeError("chain source not started")
        return self._cursor

    async def _start(self) -> None:
        try:
            saved = await self._cursors.load("*", self._cursor_source)
        except Exception as exc:  # a store failure: retry with backoff, never start without the cursor
            raise CursorUnavailable(f"cursor load: {type(exc).__name__}: {exc}") from exc
        if saved is not None:
            stored_hash = next(
                (k[len(_HASH_TAG) :] for k in saved.seen_keys if k.startswith(_HASH_TAG)), None
            )
            header = await self._rpc.get_block_by_number(saved.last_ts)
            if stored_hash is None or (header is not None and str(header.get("hash")).lower() == stored_hash):
                self._cursor = saved.last_ts
                if stored_hash is not None:
                    self._state.record(saved.last_ts, stored_hash)
            else:
                self._cursor = max(-1, saved.last_ts - self._state.window)
                self.stats.reorgs += 1
                log.warning("chain.cursor_block_replaced", block=saved.last_ts, rescan_from=self._cursor + 1)
        else:
            if self._start_block is not None:
                self._cursor = self._start_block - 1
            else:
                self._cursor = max(-1, await self._rpc.block_number() - self._confirmations)
            header = await self._rpc.get_block_by_number(self._cursor) if self._cursor >= 0 else None
            if header is not None:
                self._state.record(self._cursor, str(header["hash"]).lower())
        log.info("chain.source_start", cursor=self._cursor, exchanges=len(self._exchanges))

    async def _header(self, block: int) -> dict[str, Any]:
        header = await self._rpc.get_block_by_number(block)
        if header is None:
            raise _ChainMoved(f"block {block} is gone")
        return header

    async def _fetch_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        leaders = sorted(self._leaders)
        logs: list[dict[str, Any]] = []
        for start in range(0, len(leaders), self._leaders_per_query):
            group = [address_topic(a) for a in leaders[start : start + self._leaders_per_query]]
            logs += await self._rpc.get_logs(
                from_block=from_block,
                to_block=to_block,
                addresses=self._exchanges,
                topics=[list(ORDER_FILLED_TOPICS), None, group],
            )
        return logs

    async def _scan(self, cursor: int, to_block: int) -> int:
        to_hash = str((await self._header(to_block))["hash"]).lower()
        logs = await self._fetch_logs(cursor + 1, to_block)
        partial = sum(1 for entry in logs if not _is_final(entry))
        if partial:  # a pending / half-built log: its block is not settled, read the batch again
            self.stats.partial_logs += partial
            raise _ChainMoved(f"{partial} log(s) without blockHash/blockNumber")
        if str((await self._header(to_block))["hash"]).lower() != to_hash:
            raise _ChainMoved(f"block {to_block} changed during eth_getLogs")
        known = self._state.hash_of(cursor)
        if known is not None and str((await self._header(cursor))["hash"]).lower() != known:
            raise _ChainMoved(f"block {cursor} changed during eth_getLogs")
        self.stats.logs_seen += len(logs)
        fills, errors = decode_leader_logs(logs, self._leaders, self._reject)
        self.stats.decode_errors += errors
        headers: dict[int, dict[str, Any]] = {}
        for fill in fills:
            if fill.removed:  # its block may be gone; only its key matters
                continue
            if fill.block_number not in headers:
                headers[fill.block_number] = await self._header(fill.block_number)
            if str(headers[fill.block_number]["hash"]).lower() != fill.block_hash:
                raise _ChainMoved(f"log of block {fill.block_number} is from another fork")
        buffered = 0
        for item in fills_to_signals(fills, headers, self._clock(), self._condition_for, self._reject):
            buffered += await self._accept(item)
        for number, header in headers.items():
            self._state.record(number, str(header["hash"]).lower())
        self._state.record(to_block, to_hash)
        self._cursor = to_block
        self._commits.append(_CommitPoint(self._next_seq, to_block, to_hash))
        for orphan in self._state.orphans_passed(to_block):
            await self._retract(orphan)
        self._state.trim(to_block)
        return buffered

    def _reject(self, exc: InvalidMessage, entry: Mapping[str, object]) -> None:
        self.rejects.reject(exc.reason, exc.detail, tx=str(entry.get("transactionHash"))[:80])

    async def _accept(self, item: ChainFill) -> int:
        key = item.signal.key
        if item.removed:
            if self._drop_buffered(lambda fill: fill.signal.key == key) == 0:
                emitted = self._state.forget(key)
                if emitted is not None:
                    await self._retract(emitted)
            return 0
        if self._state.reappeared(key, item.block_number) or self._state.knows(key):
            return 0  # handed out before a re-org and included again, or already buffered
        self._state.remember(item.signal, item.block_number)
        self._buffer.append((self._next_seq, item))
        self._next_seq += 1
        self.stats.taker_legs += int(item.taker_leg)
        return 1

    def _drop_buffered(self, predicate: Callable[[ChainFill], bool]) -> int:
        kept = deque(entry for entry in self._buffer if not predicate(entry[1]))
        dropped = len(self._buffer) - len(kept)
        for _, fill in self._buffer:
            if predicate(fill):
                self._state.forget(fill.signal.key)
        self._buffer = kept
        return dropped

    async def _retract(self, signal: Signal) -> None:
        self.stats.retracted += 1
        log.warning("chain.signal_retracted", key=signal.key, tx=signal.tx_hash, leader=signal.leader)
        if self._on_retract is not None:
            try:
                await self._on_retract(signal)
            except Exception as exc:  # noqa: BLE001 - a failing consumer hook must not stop the source
                log.error("chain.retract_hook_failed", key=signal.key, error=f"{type(exc).__name__}: {exc}")

    # --- re-orgs ------------------------------------------------------------------------------------

    async def _check_reorg(self) -> None:
        cursor = self._require_cursor()
        known = self._state.hash_of(cursor)
        if known is None:
            return
        header = await self._rpc.get_block_by_number(cursor)
        if header is not None and str(header.get("hash")).lower() == known:
            return
        ancestor: int | None = None
        for number, recorded in self._state.recorded_below(cursor):
            candidate = await self._rpc.get_block_by_number(number)
            if candidate is not None and str(candidate.get("hash")).lower() == recorded:
                ancestor = number
                break
        if ancestor is None:
            ancestor = max(-1, self._state.oldest(default=cursor) - 1)
            log.error("chain.reorg_deeper_than_window", cursor=cursor, rescan_from=ancestor + 1)
        self._rollback(ancestor)

    def _rollback(self, ancestor: int) -> None:
        self.stats.reorgs += 1
        cursor = self._require_cursor()
        dropped = self._drop_buffered(lambda fill: fill.block_number > ancestor)
        orphaned = self._state.orphan_above(ancestor)
        log.warning(
            "chain.reorg", cursor=cursor, ancestor=ancestor, dropped_unsent=dropped, orphaned_sent=orphaned
        )
        self._cursor = ancestor
        while self._commits and self._commits[-1].block > ancestor:
            self._commits.pop()
        self._commits.append(_CommitPoint(self._next_seq, ancestor, self._state.hash_of(ancestor)))

    # --- cursor persistence -----------------------------------------------------------------------------

    async def _commit_ready(self) -> None:
        """Persist the newest commit point whose signals have all been handed out.

        A failing store does not stop the source: the point stays queued and is retried on the next call
        (until then a restart would re-read from the older cursor: duplicates, never a gap).
        """
        oldest_buffered = self._buffer[0][0] if self._buffer else self._next_seq
        ready = [i for i, point in enumerate(self._commits) if point.before_seq <= oldest_buffered]
        if not ready:
            return
        point = self._commits[ready[-1]]
        keys = frozenset({_HASH_TAG + point.block_hash}) if point.block_hash else frozenset()
        try:
            await self._cursors.save(Cursor("*", self._cursor_source, point.block, keys))
        except Exception as exc:  # noqa: BLE001 - any store failure: keep reading, retry the save later
            self.stats.cursor_errors += 1
            self.stats.last_error = f"cursor save: {type(exc).__name__}: {exc}"
            log.error("chain.cursor_save_failed", block=point.block, error=self.stats.last_error)
            return
        for _ in range(ready[-1] + 1):
            self._commits.popleft()
        self.stats.committed_block = point.block


def rpc_client(settings: Settings) -> JsonRpcClient:
    """The JSON-RPC client of the settings' chain nodes (failover in their order); ValueError if none."""
    venue = settings.venue
    if not venue.rpc_urls:
        raise ValueError("no chain node: set venue.chain_rpc_url (or venue.chain_rpc_urls)")
    return JsonRpcClient(
        venue.rpc_urls,
        timeout_ms=venue.request_timeout_ms,
        max_retries=venue.max_retries,
        failback_s=venue.chain_rpc_failback_s,
    )


def chain_source(deps: SourceDeps) -> ChainLogSource:
    """The ingest service's factory: chain logs over the caller's RPC client."""
    source = ChainLogSource.from_settings(
        deps.settings,
        leaders=deps.leaders,
        cursor_store=deps.cursors,
        rpc=deps.clients.rpc,
        extra_exchanges=deps.extra_exchanges,
        on_retract=deps.on_retract,
    )
    deps.metrics.rejects[SourceKind.CHAIN.value] = source.rejects  # its rejects, exported by reason
    return source
