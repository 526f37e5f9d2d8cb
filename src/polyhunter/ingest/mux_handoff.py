"""The mux's hand-off of accepted signals to the downstream sink (the engine): in order per (leader,
token), with the shared dedup's claims, and the keys of a failed hand-off forgotten.

With a shared dedup (Redis, several supervisors) a locally new key is also claimed there: a short
claim, kept alive while the hand-off runs and made final once the sink returned (the signal is durable),
so a process killed in between (its database stalled) leaves nothing held for long: the claim expires
and another supervisor's source, which waits on a live claim instead of calling it a duplicate, records
the fill. A hand-off that fails forgets the keys again, locally and in the shared dedup, so the source's
retry or another source's copy of the same fill is accepted: a failed hand-off never turns a fill into a
"duplicate".

`MuxHandOff` is the part of `SignalMux` (mux.py) that hands signals on; the mux sets every attribute
declared below in its ``__init__``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.metrics import SourceStats
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalDedup
from polyhunter.task_drain import drain_tasks

log = get_logger(__name__)

# While hand-offs with shared claims are outstanding, every this often the ones still running start
# refreshing their claims: each by HOLD_AFTER_S after it began. (The shortest claim,
# ingest.dedup_claim_ttl_s = 0.5 s, is refreshed every third of it: 0.1 + 0.17 s is well inside it.)
HOLD_AFTER_S = 0.1


class MuxHandOff:
    """Handing accepted signals on (see the module doc); a base of `SignalMux`."""

    dedup: DedupSet
    shared: SignalDedup | None
    _stats: dict[SourceKind, SourceStats]
    _sink: Callable[[list[Signal]], Awaitable[None]]
    _in_flight: dict[str, asyncio.Future[bool] | None]
    _claimed: dict[int, list[str]]
    _holders: dict[int, asyncio.Future[None]]
    _tick_loop: asyncio.AbstractEventLoop | None
    _tails: dict[tuple[str, str], asyncio.Task[None]]
    _background: set[asyncio.Task[None]]
    _background_limit: int
    _room: asyncio.Event
    background_failures: int
    _provisional: dict[str, Signal]

    async def _claim_shared(self, accepted: list[Signal]) -> list[Signal]:
        """Of signals the local gate accepted, those no other process claimed first. If the shared
        dedup fails (Redis down), every key of the batch is forgotten again and the error raised."""
        shared = self.shared
        if shared is None:
            return accepted
        claimed: list[Signal] = []
        for i, signal in enumerate(accepted):
            try:
                new = await shared.first_seen(signal.key, signal.source)
            except BaseException:
                await self._failed([*claimed, *accepted[i:]])
                raise
            if new:
                claimed.append(signal)
                continue
            self._provisional.pop(signal.key, None)  # another process accepted it: not ours to confirm
            st = self._stats[signal.source]
            st.accepted -= 1
            st.duplicates += 1
        return claimed

    async def _hand_off_in_turn(self, signals: list[Signal]) -> None:
        """A cursor source's hand-off, queued behind the push path's hand-offs of the same (leader,
        token) still outstanding: the engine gets one token's fills in the order they reached us,
        whichever source saw them (a SELL the poller saw first must not overtake the BUY before it that
        the push path is still handing on). Returns once all are handed on; raises the first failure."""
        tasks = [self._queue(key, group, self._in_turn) for key, group in self._in_flight_by_token(signals)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _in_flight_by_token(self, signals: list[Signal]) -> list[tuple[tuple[str, str], list[Signal]]]:
        """Register the signals as in flight (a duplicate offered from now on waits for them) and group
        them by (leader, token)."""
        groups: dict[tuple[str, str], list[Signal]] = {}
        in_flight = self._in_flight
        for signal in signals:
            if signal.key not in in_flight:
                in_flight[signal.key] = None
            groups.setdefault((signal.leader, signal.asset), []).append(signal)
        return list(groups.items())

    def _queue(
        self,
        group_key: tuple[str, str],
        group: list[Signal],
        run: Callable[[asyncio.Task[None] | None, list[Signal]], Coroutine[Any, Any, None]],
    ) -> asyncio.Task[None]:
        """Start `run(previous, group)` as the new last hand-off of its (leader, token)."""
        task = asyncio.create_task(run(self._tails.get(group_key), group))
        self._tails[group_key] = task
        task.add_done_callback(functools.partial(self._background_done, group_key))
        return task

    async def _in_turn(self, previous: asyncio.Task[None] | None, group: list[Signal]) -> None:
        """Hand `group` on once the previous hand-off of its (leader, token) has ended, however it ended."""
        try:
            if previous is not None:
                await asyncio.wait([previous])
        except asyncio.CancelledError:
            self._forget_local(group)
            raise
        await self.hand_off(group)  # forgets the keys itself if it fails or is cancelled

    async def _hand_off_after(self, previous: asyncio.Task[None] | None, group: list[Signal]) -> None:
        try:
            await self._in_turn(previous, group)
        except Exception as exc:  # noqa: BLE001 - the keys are forgotten: another source's copy is taken
            self.background_failures += 1
            log.error(
                "signals not handed on; left to the other sources",
                keys=[s.key for s in group],
                error=repr(exc),
            )

    def _background_done(self, group_key: tuple[str, str], task: asyncio.Task[None]) -> None:
        """A hand-off task ended (push path, or a cursor source's queued one): no longer the tail."""
        self._background.discard(task)
        if self._tails.get(group_key) is task:
            del self._tails[group_key]
        if len(self._background) < self._background_limit:
            self._room.set()

    async def drain(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for the push path's background hand-offs; cancel what is left (its
        keys are forgotten: the poller's copy after a restart is accepted). Returns how many were cut."""
        cut = await drain_tasks(self._background, timeout_s)
        await self._stop_holders()
        return cut

    async def _stop_holders(self) -> None:
        """Cancel the claim keepers still running (their hand-offs were cut) and wait a moment for them,
        before the caller closes the coordinator under them: a keeper left inside a Redis call on a
        closed pool would hold up the event loop's shutdown."""
        holders = list(self._holders.values())
        self._holders.clear()
        for holder in holders:
            holder.cancel()
        if holders:
            await asyncio.wait(holders, timeout=1.0)

    async def hand_off(self, offered: list[Signal]) -> None:
        """Sink for signals that already passed :meth:`offer`: the shared gate, then the engine's sink.
        Raises what the sink raised, after forgetting the keys.

        With a shared dedup, the claims of the keys this process took are kept alive while the sink runs
        (see :meth:`_tick`) and made final once it returned (the signals are durable). If making them
        final fails (Redis away) the claims expire and a later copy is handed on again: the store keeps
        one per key."""
        in_flight = self._in_flight
        for signal in offered:
            if signal.key not in in_flight:
                in_flight[signal.key] = None
        shared = self.shared
        try:
            accepted = offered if shared is None else await self._claim_shared(offered)
            if not accepted:
                return
            keys: list[str] = []
            if shared is not None:
                keys = [s.key for s in accepted]
                self._claimed[id(keys)] = keys
                loop = asyncio.get_running_loop()
                if self._tick_loop is not loop:
                    # Almost every hand-off is done within milliseconds: one tick for all of them, not a
                    # timer (or a task) per hand-off, which cost the push path microseconds a fill.
                    self._tick_loop = loop
                    loop.call_later(HOLD_AFTER_S, self._tick)
            try:
                await self._sink(accepted)
            except BaseException:
                if shared is not None:
                    self._unclaimed(id(keys))
                await self._failed(accepted)
                raise
            if shared is not None:
                self._unclaimed(id(keys))
                try:
                    await shared.finalize(keys)
                except Exception as exc:  # noqa: BLE001 - the signals are recorded; only the dedup is late
                    log.warning("shared dedup keys not made final", keys=len(keys), error=repr(exc))
        finally:
            for signal in offered:
                self._settle(signal.key, taken=True)  # failed ones were settled False already

    def _tick(self) -> None:
        """Every HOLD_AFTER_S while hand-offs with shared claims run: those still running keep their
        claims alive from now on (``SignalDedup.hold``, cancelled when the hand-off ends)."""
        shared = self.shared
        if not self._claimed or shared is None:
            self._tick_loop = None
            return
        for token, keys in self._claimed.items():
            if token not in self._holders:
                self._holders[token] = asyncio.ensure_future(shared.hold(keys))
        asyncio.get_running_loop().call_later(HOLD_AFTER_S, self._tick)

    def _unclaimed(self, token: int) -> None:
        """A hand-off's sink returned or failed: its claims need no keeping alive any more."""
        del self._claimed[token]
        if self._holders:
            holder = self._holders.pop(token, None)
            if holder is not None:
                holder.cancel()

    def _settle(self, key: str, *, taken: bool) -> None:
        future = self._in_flight.pop(key, None)
        if future is not None and not future.done():
            future.set_result(taken)

    def _forget_local(self, signals: list[Signal]) -> None:
        """Cancelled before the hand-off began (shutdown): as if it had failed, without the shared
        dedup (nothing was claimed there yet)."""
        for signal in signals:
            if signal.key in self._in_flight:
                self.dedup.discard(signal.key)
                self._settle(signal.key, taken=False)
                self._stats[signal.source].accepted -= 1

    async def _failed(self, signals: list[Signal]) -> None:
        """Not handed on (e.g. the database refused the write): forget the keys, so the source's retry
        (the poller re-reads from its unmoved cursor) or another source is accepted again."""
        for signal in signals:
            self.dedup.discard(signal.key)
            self._provisional.pop(signal.key, None)
            self._settle(signal.key, taken=False)
            st = self._stats[signal.source]
            st.accepted -= 1
            st.handoff_failures += 1
        if self.shared is None:
            return
        for signal in signals:
            try:
                await self.shared.forget(signal.key)
            except Exception as exc:  # noqa: BLE001 - the hand-off error is the one to raise
                log.error("shared dedup key not forgotten", key=signal.key, error=repr(exc))
