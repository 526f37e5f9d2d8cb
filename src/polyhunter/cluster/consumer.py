"""One owned partition: read its consumer group, hand each signal to the engine for the partition's
followers, acknowledge it once its copies are prewritten.

On start the owner first has the engine read its followers' state again (engine/handover.py: exposure,
paper accounts, breakers, cached funds, as another worker may have left them), then hands on what the
database says the partition still owes (store/orphans.py: a dead owner's unsent copies, recorded
signals without copies), then takes over the group's pending
entries (what a previous owner read and did not acknowledge) and reads them again before new ones: a
signal is acknowledged only after the engine recorded its copies, so an owner killed at any point leaves
nothing behind but entries read again by the next owner, whose copies the store's unique (signal key,
config) key turns into no-ops.

A signal the engine could not take (the database away) is not acknowledged: after a backoff the
consumer reads its pending entries again, in order, so one partition's signals reach the engine in
stream order. An entry that is not a signal is counted, logged and acknowledged (it never stalls the
partition). The consumer stops at the next entry once its lease is no longer known to be held.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from polyhunter.cluster.codec import BadEntryError, decode
from polyhunter.cluster.partitions import partition_of
from polyhunter.cluster.stream import SignalStream
from polyhunter.domain.errors import RetryableError
from polyhunter.domain.signal import Signal
from polyhunter.engine.intake import ConfigScope
from polyhunter.log import get_logger
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

Handle = Callable[[list[Signal], ConfigScope], Awaitable[None]]
# the signals of copies a dead owner prewrote and never sent, released (store/orphans.py)
Recover = Callable[[ConfigScope], Awaitable[list[Signal]]]
# the partition's followers' state read again by the engine (engine/handover.py), before any signal
Take = Callable[[ConfigScope], Awaitable[None]]
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, ResponseError, OSError)
BACKOFF_S = (0.1, 5.0)


@dataclass
class PartitionStats:
    handled: int = 0  # signals handed to the engine and acknowledged
    taken_over: int = 0  # pending entries taken over from a previous owner
    bad_entries: int = 0
    failures: int = 0  # hand-offs that failed (retried)
    recovered: int = 0  # signals handed on again from the database (unsent or missing copies)
    last_handled_at: float = 0.0  # unix seconds


class PartitionConsumer:
    def __init__(
        self,
        partition: int,
        count: int,
        consumer: str,
        stream: SignalStream,
        handle: Handle,
        still_owned: Callable[[], bool],
        *,
        read_count: int,
        block_ms: int,
        recover: Recover | None = None,
        take: Take | None = None,
    ) -> None:
        self.partition = partition
        self._consumer = consumer
        self._stream = stream
        self._handle = handle
        self._owned = still_owned
        self._read_count = read_count
        self._block_ms = block_ms
        self.scope: ConfigScope = lambda user_id: partition_of(user_id, count) == partition
        self.stats = PartitionStats()
        self._recover = recover
        self._orphans: list[Signal] | None = None if recover is not None else []
        self._take = take

    async def run(self) -> None:
        delay = BACKOFF_S[0]
        pending = True  # first what this consumer holds (taken over), then new entries
        taken = False
        while self._owned():
            raise_if_cancelled()
            if not await self._recovered():
                await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter
                delay = min(BACKOFF_S[1], delay * 2)
                continue
            try:
                if not taken:
                    created = await self._stream.ensure_group(self.partition)
                    if created and self._recover is not None and self._orphans == []:
                        self._orphans = None  # the group was gone (Redis restarted empty): recover again
                        continue
                    self.stats.taken_over += await self._stream.take_over(self.partition, self._consumer)
                    taken = True
                entries = await self._stream.read(
                    self.partition,
                    self._consumer,
                    pending=pending,
                    count=self._read_count,
                    block_ms=self._block_ms,
                )
                if pending and not entries:
                    pending = False
                    continue
                if not await self._handle_all(entries):
                    raise _HandOffFailedError
                delay = BACKOFF_S[0]
            except (*REDIS_ERRORS, _HandOffFailedError, RetryableError) as exc:
                if not isinstance(exc, _HandOffFailedError):
                    log.warning("partition read failed; retrying", partition=self.partition, error=repr(exc))
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    taken = False  # its group is gone: made again, and what was lost recovered, first
                pending = True
                await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter
                delay = min(BACKOFF_S[1], delay * 2)

    async def _recovered(self) -> bool:
        """Before the stream: copy again the signals whose copies a dead owner left unsent (released to
        this owner) and the recorded signals the partition's followers have no copies of (their stream
        entries lost with a Redis that restarted empty). False if that failed (retried after a backoff:
        the released signals are kept)."""
        try:
            if self._take is not None:  # the followers' state as the store has it, before any signal
                await self._take(self.scope)
                self._take = None
            if self._orphans is None and self._recover is not None:
                self._orphans = await self._recover(self.scope)
            if self._orphans:
                await self._handle(self._orphans, self.scope)
                self.stats.recovered += len(self._orphans)
                log.warning(
                    "recorded signals without their copies handed on again",
                    partition=self.partition,
                    signals=len(self._orphans),
                )
                self._orphans = []
        except Exception as exc:  # noqa: BLE001 - retried: the released signals must not be dropped
            log.warning(
                "unsent copies of a dead owner not taken yet; retrying",
                partition=self.partition,
                error=repr(exc),
            )
            return False
        return True

    async def _handle_all(self, entries: list[tuple[str, bytes | None]]) -> bool:
        """Hand the entries on in order; acknowledge those taken. False at the first that failed."""
        done: list[str] = []
        try:
            for entry_id, raw in entries:
                if not self._owned():
                    return True
                if raw is None:  # trimmed away before anyone read it (the stream's MAXLEN)
                    log.error(
                        "partition entry trimmed before it was read", partition=self.partition, id=entry_id
                    )
                    done.append(entry_id)
                    continue
                try:
                    signal = decode(raw)
                except BadEntryError as exc:
                    self.stats.bad_entries += 1
                    log.error(
                        "stream entry is not a signal; dropped", partition=self.partition, error=str(exc)
                    )
                    done.append(entry_id)
                    continue
                try:
                    await self._handle([signal], self.scope)
                except Exception as exc:  # noqa: BLE001 - not acknowledged: read again after a backoff
                    self.stats.failures += 1
                    log.warning(
                        "signal not taken by the engine; retrying",
                        partition=self.partition,
                        key=signal.key,
                        error=repr(exc),
                    )
                    return False
                done.append(entry_id)
                self.stats.handled += 1
                self.stats.last_handled_at = time.time()
            return True
        finally:
            if done:
                await self._stream.ack(self.partition, done)


class _HandOffFailedError(Exception):
    pass
