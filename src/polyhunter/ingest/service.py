"""Ingestion wired together: the sources a mode runs, the mux gate, durable dedup, one downstream sink.

RTDS push ─────► FrameFilter (pre-check, decode, sink.admit) ─► sink.hand_off_soon (background) ┐
Data API poller (cursor) ──────────────────────────────────────► sink.submit ───────────────────┼─► record in `signals`
chain logs (block cursor) ─────────────────────────────────────► sink.submit_until_taken ───────┤   (ON CONFLICT DO NOTHING:
mempool (pending matchOrders; provisional: confirmed or retracted) ─► sink.admit / hand_off_soon ┘
                                                 the durable dedup that also holds across restarts) ─► sink

The sources are the entries of ``polyhunter.ingest.sources.SOURCES`` the mode selects, each a
``SignalSource`` run with the mux as its ``SignalSink``; they read through the clients the caller passes
in (``IngestClients``: the service neither builds nor closes them). All pass the same gate: local dedup,
then the shared dedup (Redis) when ``coord.backend`` is ``redis``; a failed hand-off forgets the keys in
both, so another copy of the fill is accepted later.

In a cluster (``leader_shards``: ``cluster.ingest_shards``) the per-leader sources (``PER_LEADER``: the
Data API poller, whose cost is one request per leader per round against a per-host budget) follow only
the leaders of the ingest shards this worker holds (:meth:`follow_shards`, from cluster/ingest_shards.py);
the firehose sources (RTDS, chain logs, mempool: their cost does not grow with the leaders, and their
cursors are per chain, not per leader) follow every leader on every ingest worker, for redundancy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.cluster.partitions import shard_of
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursor_store_sql import SqlCursorStore
from polyhunter.ingest.data_api_poll import DataApiPoller
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet
from polyhunter.ingest.mempool import MempoolSource
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux
from polyhunter.ingest.rtds import RtdsSource
from polyhunter.ingest.source_deps import ConfirmHandler, IngestClients, RetractHandler, SourceDeps
from polyhunter.ingest.sources import build_sources
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.ports.sources import SignalSource, SourceHealth
from polyhunter.settings import Settings
from polyhunter.store.copy_writes import record_signals
from polyhunter.store.database import unit_of_work

log = get_logger(__name__)

HAND_OFF_DRAIN_S = 5.0  # at shutdown: how long the push path's last hand-offs may take to be recorded

Sink = Callable[[list[Signal]], Awaitable[None]]
PER_LEADER = frozenset({SourceKind.POLL})  # sources spread over the ingest workers by leader shard


class IngestService:
    def __init__(
        self,
        settings: Settings,
        leaders: Sequence[str],
        sessions: async_sessionmaker[AsyncSession],
        sink: Sink,
        *,
        clients: IngestClients,
        registry: CollectorRegistry | None = None,
        coord: Coordinator | None = None,
        extra_exchanges: Sequence[str] = (),
        on_stale: Callable[[list[Signal]], None] | None = None,
        on_retract: RetractHandler | None = None,
        on_confirm: ConfirmHandler | None = None,
        sink_records: bool = False,
        follow_from: float | None = None,
        leader_shards: int | None = None,
    ) -> None:
        """`clients`: the venue clients the sources read through; the caller owns and closes them.

        `sink_records=True`: the sink stores each signal itself (the copy engine does, in the same
        transaction as the copies' prewrite), so the service does not write it first.

        Stale misses (fills the poller reads after a restart that are older than the replay window) are
        never copied: each is counted (``polyhunter_ingest_stale_total{reason="replay_window"}``) and
        logged with its key, then passed to ``on_stale``. A signal handed on and then re-orged away is
        counted (``polyhunter_ingest_retracted_total``) and passed to ``on_retract`` (the sink's owner
        decides what a retracted copy needs); the chain source logs it with its key. A provisional
        signal (the mempool's, a fill in a pending transaction) is confirmed once its fill is seen mined
        (by the mempool source at its block, or as a duplicate from RTDS / the chain / the poller):
        counted (``polyhunter_ingest_confirmed_total``) and passed to ``on_confirm``.

        `follow_from` (unix seconds, default: now) is when following began: a leader with no cursor yet is
        polled from there, so its fills since the owner started are caught even before the push feed is
        connected.

        `leader_shards` (a cluster's ingest worker: ``cluster.ingest_shards``): the per-leader sources follow
        no leader until :meth:`follow_shards` names the shards this worker holds."""
        self.settings = settings
        self.leaders = [leader.lower() for leader in leaders]
        follow_from_s = int(follow_from if follow_from is not None else time.time())
        self._since = dict.fromkeys(self.leaders, follow_from_s)  # leader -> followed from (unix s)
        self._shard_count = leader_shards
        self.shards: frozenset[int] | None = None if leader_shards is None else frozenset()
        self._sessions = sessions
        self._sink = sink
        self._sink_records = sink_records
        self._on_stale = on_stale
        self._on_retract = on_retract
        self._on_confirm = on_confirm
        ing = settings.ingest
        self.metrics = IngestMetrics(registry)
        self.dedup = DedupSet(ttl_s=ing.local_dedup_ttl_s)
        shared = (
            CoordinatorDedup(coord, ing.dedup_ttl_s, claim_ttl_s=ing.dedup_claim_ttl_s)
            if coord is not None and settings.coord.backend == "redis"
            else None
        )
        self.mux = SignalMux(
            ing.mode,
            self.dedup,
            self.metrics,
            max_signal_age_s=ing.max_signal_age_s,
            shared=shared,
            sink=self._record,
            on_confirm=self._confirmed,
        )
        self.recorded = 0
        self.sources: dict[SourceKind, SignalSource] = build_sources(
            SourceDeps(
                settings=settings,
                leaders=self.leaders,
                clients=clients,
                cursors=SqlCursorStore(sessions),
                metrics=self.metrics,
                push_healthy=self._push_healthy,
                on_stale=self._stale,
                on_retract=self._retracted,
                follow_from_s=follow_from_s,
                extra_exchanges=extra_exchanges,
                on_confirm=self._source_confirmed,
            )
        )
        for source in self.sources.values():
            self.metrics.probe_health(source.kind, _health_probe(source))
        if self.shards is not None:
            self._apply_leaders(only=PER_LEADER)

    @property
    def rtds(self) -> RtdsSource | None:
        source = self.sources.get(SourceKind.WS)
        return source if isinstance(source, RtdsSource) else None

    @property
    def poller(self) -> DataApiPoller | None:
        source = self.sources.get(SourceKind.POLL)
        return source if isinstance(source, DataApiPoller) else None

    @property
    def mempool(self) -> MempoolSource | None:
        source = self.sources.get(SourceKind.MEMPOOL)
        return source if isinstance(source, MempoolSource) else None

    @property
    def chain(self) -> ChainLogSource | None:
        source = self.sources.get(SourceKind.CHAIN)
        return source if isinstance(source, ChainLogSource) else None

    def set_leaders(self, leaders: Sequence[str]) -> None:
        """Follow exactly these leaders from now on, in every source (a leader added or dropped through
        the API: `runtime/live_sync.py`); in a cluster the per-leader sources, those of its shards."""
        self.leaders = sorted({leader.lower() for leader in leaders})
        now_s = int(time.time())
        self._since = {leader: self._since.get(leader, now_s) for leader in self.leaders}
        self._apply_leaders()

    def follow_shards(self, shards: frozenset[int]) -> None:
        """A cluster's ingest worker holds these ingest shards now: its per-leader sources follow their
        leaders only (a leader taken over resumes from its cursor in the database)."""
        self.shards = frozenset(shards)
        self._apply_leaders(only=PER_LEADER)

    async def shards_settled(self) -> None:
        """Returns once no per-leader source is reading a leader it no longer follows."""
        poller = self.poller
        if poller is not None:
            await poller.settled()

    def followed(self, kind: SourceKind) -> list[str]:
        """The leaders source `kind` follows: all of them, or (a per-leader source in a cluster) those of
        the shards this worker holds."""
        if self.shards is None or self._shard_count is None or kind not in PER_LEADER:
            return self.leaders
        return [leader for leader in self.leaders if shard_of(leader, self._shard_count) in self.shards]

    def _apply_leaders(self, only: frozenset[SourceKind] | None = None) -> None:
        for kind, source in self.sources.items():
            if only is not None and kind not in only:
                continue
            if isinstance(source, DataApiPoller):
                source.set_leaders(self.followed(kind), since=self._since)
                continue
            setter = getattr(source, "set_leaders", None)
            if setter is not None:
                setter(self.followed(kind))

    def _push_healthy(self) -> bool:
        """Whether the poller may keep its normal cadence: the fast one stands in for a push feed that
        is down (HYBRID). A mode without a push feed (POLLING_ONLY) polls at the configured cadence."""
        push = self.sources.get(SourceKind.WS)
        return push is None or push.health is SourceHealth.HEALTHY

    def _stale(self, signals: list[Signal]) -> None:
        """Misses older than the replay window: recorded (counted, logged with their key), not copied."""
        window_s = self.settings.ingest.replay_window_s
        for signal in signals:
            self.metrics.source(signal.source).stale_replay_window += 1
            log.warning(
                "stale miss not copied",
                reason="replay_window",
                key=signal.key,
                source=str(signal.source),
                leader=signal.leader,
                tx_hash=signal.tx_hash,
                fill_time=signal.fill_time.isoformat(),
                age_s=signal.lag_ms // 1000,
                replay_window_s=window_s,
            )
        if self._on_stale is not None:
            try:
                self._on_stale(signals)
            except Exception as exc:  # noqa: BLE001 - the owner's hook must not stall the poller
                log.error("stale hook failed", keys=[s.key for s in signals], error=repr(exc))

    async def _retracted(self, signal: Signal) -> None:
        self.metrics.source(signal.source).retracted += 1
        self.mux.retract(signal)
        if self._on_retract is not None:
            await self._on_retract(signal)

    async def _source_confirmed(self, signal: Signal) -> None:
        """The mempool source saw the block of a pending fill it handed on."""
        await self.mux.confirm(signal)

    async def _confirmed(self, signal: Signal) -> None:
        self.metrics.source(SourceKind.MEMPOOL).confirmed += 1
        if self._on_confirm is not None:
            await self._on_confirm(signal)

    async def _record(self, signals: list[Signal]) -> None:
        """Durable dedup: only signals never stored before (by any source, in any run) go on."""
        if self._sink_records:
            self.recorded += len(signals)
            await self._sink(signals)
            return
        async with unit_of_work(self._sessions) as session:
            new = await record_signals(session, signals)
        fresh = [s for s in signals if s.key in new]
        self.recorded += len(fresh)
        if fresh:
            await self._sink(fresh)

    async def run(self) -> None:
        """Run every source with the mux as its sink until one ends or this is cancelled; then drain
        the push path's hand-offs and close the sources."""
        tasks = [
            asyncio.create_task(self.mux.consume(source), name=str(kind).lower())
            for kind, source in self.sources.items()
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.mux.drain(HAND_OFF_DRAIN_S)
            await self.close()

    async def close(self) -> None:
        """Stop every source (the clients stay open: they are the caller's)."""
        await asyncio.gather(*(source.close() for source in self.sources.values()))

    def snapshot(self) -> dict[str, object]:
        """The per-source metrics (``IngestMetrics.snapshot``) and how many signals were recorded."""
        return {"recorded": self.recorded, **self.metrics.snapshot()}


def _health_probe(source: SignalSource) -> Callable[[], SourceHealth]:
    return lambda: source.health
