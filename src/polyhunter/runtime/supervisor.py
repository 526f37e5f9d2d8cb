"""One supervisor process: ingestion → copy engine → executors, the PENDING sweep, and the metrics API.

Used by `polyhunter run` (a run file against the configured venue) and `polyhunter demo` (the
simulator), and by the end-to-end tests. What runs is built by `polyhunter.app.build_app`; the
supervisor starts it (the API, the GC tuning), runs its tasks and stops it in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from polyhunter.api.server import ApiServer
from polyhunter.app import App, Closer, build_app
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.engine.pending_sweep import PendingSweeper
from polyhunter.execution.registry import CUSTODY, CustodyRegistry
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import RetractHandler
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.ports.venue import Executor
from polyhunter.queries import Queries
from polyhunter.runtime.gc_tuning import tune_gc
from polyhunter.runtime.heap_trim import HeapTrimmer
from polyhunter.runtime.provision import Provisioned
from polyhunter.runtime.run_file import RunFile
from polyhunter.settings import Settings
from polyhunter.store.sessions import Database, SessionFactory
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)
STOP_TASKS_EXTRA_S = 5.0  # past the grace, how long cancelled tasks may take to end (the last hand-offs: 5 s)
SLOW_STOP_S = 2.0  # a closing step that takes longer is logged
PNL_AT_STOP_S = 5.0  # the daily PnL series written at a clean stop (venue marks included), at most


def _closer_name(close: Closer) -> str:
    owner = getattr(close, "__self__", None)
    name = getattr(close, "__qualname__", None) or repr(close)
    return name if owner is None else f"{type(owner).__name__}.{getattr(close, '__name__', name)}"


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        run: RunFile | None,
        *,
        on_copy: Callable[[CopyRecord], None] | None = None,
        on_retract: RetractHandler | None = None,
        serve_api: bool = True,
        extra_exchanges: tuple[str, ...] = (),
        custody: CustodyRegistry = CUSTODY,
        roles: tuple[str, ...] | None = None,
    ) -> None:
        """`roles`: a cluster worker (`polyhunter worker --roles ingest,execute`); None: `polyhunter run`."""
        self.settings = settings
        self.roles = roles
        self.run_file = run
        self._on_copy = on_copy
        self._on_retract = on_retract
        self._serve_api = serve_api
        self._extra_exchanges = extra_exchanges
        self._custody = custody
        self._closers: list[Closer] = []  # what start opened (also when it failed half-way), closed by stop
        self._tasks: list[asyncio.Task[None]] = []
        self.app: App
        self.db: Database
        self.sessions: SessionFactory
        self.coord: Coordinator
        self.engine: CopyEngine
        self.ingest: IngestService
        self.sweeper: PendingSweeper
        self.executors: dict[CustodyMode, Executor] = {}
        self.followers: list[Provisioned] = []
        self.heap_trimmer: HeapTrimmer
        self.queries: Queries
        self.api: ApiServer | None = None
        self.registry: CollectorRegistry

    @property
    def worker_id(self) -> str:
        return self.app.worker_id

    async def start(self) -> None:
        self.app = app = await build_app(
            self.settings,
            self.run_file,
            on_copy=self._on_copy,
            on_retract=self._on_retract,
            serve_api=self._serve_api,
            extra_exchanges=self._extra_exchanges,
            custody=self._custody,
            closers=self._closers,
            roles=self.roles,
        )
        self.registry = app.registry
        self.db, self.sessions, self.coord = app.db, app.sessions, app.coord
        self.engine, self.ingest, self.sweeper = app.engine, app.ingest, app.sweeper
        self.executors, self.followers = app.executors, app.followers
        self.heap_trimmer, self.queries = app.heap_trimmer, app.queries
        self.api = app.api
        if self.api is not None:
            await self.api.start()
            self._closers.append(self.api.stop)
            log.info("api listening", url=self.api.url)
        tune_gc(self.settings.engine.gc_gen0_threshold)

    def status(self) -> dict[str, Any]:
        return self.queries.status()

    async def run(
        self, duration_s: float | None = None, *, stop_after: bool = True, stop: asyncio.Event | None = None
    ) -> None:
        """Run until `duration_s` passes (or forever) or `stop` is set (a SIGTERM/SIGINT, see
        runtime/shutdown.py); then drain. `stop_after=False` leaves clients open for a summary."""
        ingests = self.roles is None or "ingest" in self.roles
        self._tasks = [
            *([asyncio.create_task(self.ingest.run(), name="ingest")] if ingests else []),
            asyncio.create_task(self.sweeper.run(), name="sweeper"),
            asyncio.create_task(self._log_metrics(), name="metrics-log"),
            asyncio.create_task(self.heap_trimmer.run(), name="heap-trim"),
        ]
        if self.app.market_channel is not None:  # ingest.market_events: closed, resolved, tick changes
            self._tasks.append(asyncio.create_task(self.app.lifecycle.run(), name="market-lifecycle"))
            self._tasks.append(asyncio.create_task(self.app.market_channel.run(), name="market-channel"))
        if self.app.live is not None:
            self._tasks.append(asyncio.create_task(self.app.live.run(), name="live-sync"))
        if self.app.pnl is not None:  # the daily PnL series, rewritten on a timer
            self._tasks.append(asyncio.create_task(self.app.pnl.run(), name="pnl-daily"))
        if self.app.cluster is not None:  # membership, leases, the owned partitions' consumers
            self._tasks.append(asyncio.create_task(self.app.cluster.run(), name="cluster"))
        try:
            await self._wait(duration_s, stop)
        finally:
            if stop_after:
                await self.stop()
            else:
                await self._stop_tasks()

    async def _wait(self, duration_s: float | None, stop: asyncio.Event | None) -> None:
        """Until the duration passes, `stop` is set, a task fails (raised here) or every task ends."""
        loop = asyncio.get_running_loop()
        deadline = None if duration_s is None else loop.time() + duration_s
        stopper = asyncio.create_task(stop.wait(), name="stop-requested") if stop is not None else None
        pending: set[asyncio.Task[Any]] = set(self._tasks)
        try:
            while pending:
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                waiting = pending if stopper is None else pending | {stopper}
                done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if not done or (stopper is not None and stopper in done):
                    return
                for task in done:
                    task.result()
                pending -= done
        finally:
            if stopper is not None:
                stopper.cancel()

    async def _log_metrics(self) -> None:
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            await asyncio.sleep(self.settings.engine.metrics_interval_ms / 1000)
            log.info("stage latency", **self.engine.metrics.summary())

    async def _stop_tasks(self) -> None:
        started = asyncio.get_running_loop().time()
        grace_s = self.settings.engine.shutdown_grace_s
        signals_before, copies_before = self.queries.totals() if self._tasks else (0, 0)
        # Intake stops first: the sources stop reading and the mux's last hand-offs are recorded.
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # bounded: a task whose cancel a client call swallowed must not hold the exit
            _, stuck = await asyncio.wait(self._tasks, timeout=grace_s + STOP_TASKS_EXTRA_S)
            for task in stuck:
                log.error("task did not stop when cancelled; left behind", task=task.get_name())
        in_flight = self.engine.intake.executing
        # No new signals from here; copies already executing get their venue answers within the grace
        # (what is cut off then stays PENDING for the sweep, as after a crash): no order unaccounted for.
        remaining_s = max(0.0, grace_s - (asyncio.get_running_loop().time() - started))
        cut = await self.engine.drain(remaining_s)
        if cut:
            log.warning("copies cut off at shutdown; the PENDING sweep settles them", signals=cut)
        if self._tasks:
            # Copies parked below the venue minimum cannot complete once we stop: close them now.
            await self.sweeper.close_aggregates(everything=True)
            if self.app.pnl is not None:  # a clean stop: the series includes the last copies
                await self.app.pnl.write_logged(limit_s=PNL_AT_STOP_S)
            signals_after, copies_after = self.queries.totals()
            log.info(
                "drained",
                signals_in_flight=in_flight,
                signals_during_drain=signals_after - signals_before,
                copies_during_drain=copies_after - copies_before,
                cut_off=cut,
                held=len(self.engine.held()),
                drain_ms=round((asyncio.get_running_loop().time() - started) * 1000),
                grace_s=grace_s,
            )
        self._tasks = []

    async def stop(self) -> None:
        """Stop the tasks (a drain), then close what start opened, newest first. Each step that takes
        over `SLOW_STOP_S` is logged by name: a stop that overruns its grace says where it waited."""
        await self._stop_tasks()
        app: App | None = getattr(self, "app", None)
        steps: list[tuple[str, Closer]] = []
        if app is not None:
            steps.append(("market lifecycle", app.lifecycle.close))
            if app.cluster is not None:  # the others take the partitions over now, not after a TTL
                steps.append(("cluster leave", app.cluster.leave))
        steps.append(("ingest sources", self.ingest.close))
        steps += [(_closer_name(close), close) for close in reversed(self._closers)]
        loop = asyncio.get_running_loop()
        for name, close in steps:
            started = loop.time()
            await close()
            took = loop.time() - started
            if took >= SLOW_STOP_S:
                log.warning("slow step at stop", step=name, took_s=round(took, 1))
        self._closers = []
