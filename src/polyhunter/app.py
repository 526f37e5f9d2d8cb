"""Application assembly: the object graph of one PolyHunter process, built in one place.

`build_app` builds, in order, the database (migrated), the followers of the run file (provisioned),
the coordinator, the venue clients, one executor per registered custody type (see
`polyhunter.execution.registry`), the guardrails, the copy engine, the ingest service, the PENDING
sweeper and the HTTP API (not yet listening). `polyhunter run`, `polyhunter demo` and the tests get
the graph from here; the supervisor (`runtime.supervisor`) starts, runs and stops it.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.gamma_client import GammaClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.api.app import Platform, create_app
from polyhunter.api.leader_rank import LeaderRankings
from polyhunter.api.server import ApiServer
from polyhunter.cluster.status import export_cluster
from polyhunter.cluster.worker import ClusterWorker, cluster_prefix, cluster_redis
from polyhunter.coord.change_feed import ChangeFeed, changes_channel
from polyhunter.coord.factory import make_coordinator, redis_key_prefix, redis_pool_size
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.signal import Signal
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.engine.exposure_seed import seed_exposure
from polyhunter.engine.guard import Guard
from polyhunter.engine.handover import PartitionHandover, Reload
from polyhunter.engine.intake_metrics import export_intake
from polyhunter.engine.lifecycle import MarketLifecycle
from polyhunter.engine.market_meta import MarketDirectory
from polyhunter.engine.pending_sweep import PendingSweeper
from polyhunter.engine.positions import LeaderHolding, LeaderPortfolio, LoadHoldings
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.spend_seed import seed_guard
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.registry import CUSTODY, BuildContext, CustodyRegistry, ValueContext
from polyhunter.health import Health, database_check, ping_check, queue_check, source_checks, venue_check
from polyhunter.ingest.market_channel import MarketChannelListener
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients, RetractHandler
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.ports.lifecycle import Redeemer
from polyhunter.ports.venue import Executor
from polyhunter.queries import Queries
from polyhunter.runtime.equity import PositionsValue
from polyhunter.runtime.heap_trim import HeapTrimmer
from polyhunter.runtime.live_sync import LiveSync, account_followers, account_leaders
from polyhunter.runtime.pnl_writer import DailyPnlWriter, venue_marks
from polyhunter.runtime.provision import Provisioned, provision
from polyhunter.runtime.run_file import RunFile
from polyhunter.service.auth import AuthService
from polyhunter.service.pnl import PnlService
from polyhunter.service.resources import PlatformService
from polyhunter.settings import Settings
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.deployment import deployment_id
from polyhunter.store.master_key import open_secret_box
from polyhunter.store.migrate import upgrade
from polyhunter.store.orphans import recover_partition
from polyhunter.store.pnl_daily import SqlDailyPnl
from polyhunter.store.redemptions import SqlRedemptionStore
from polyhunter.store.sessions import Database, SessionFactory

log = get_logger(__name__)

Closer = Callable[[], Awaitable[Any]]


def leader_holdings(client: DataApiClient) -> LoadHoldings:
    """A leader's open positions by token from the Data API (for sell mirroring and PROPORTIONAL)."""

    async def load(leader: str) -> dict[str, LeaderHolding]:
        positions = await client.positions(leader)
        return {p.asset: LeaderHolding(p.size, p.current_value) for p in positions}

    return load


def retract_handler(
    on_retract: RetractHandler | None,
    engine: CopyEngine | None = None,
    store: SqlCopyStore | None = None,
) -> RetractHandler:
    async def signal_retracted(signal: Signal) -> None:
        """A leader fill that was handed on never happened: re-orged away (chain), or its pending
        transaction dropped, replaced or reverted (mempool). Configs that wait for mined fills never copy
        it; copies already made stand (they are orders of their own): the signal is marked retracted in
        the store, the operator is told, and the owner's hook (if any) decides what else to do."""
        provisional = signal.provisional
        if engine is not None:
            engine.retract(signal)
        reason = "pending_dropped" if provisional else "reorg"
        if store is not None:
            try:
                await store.mark_retracted(signal.key, reason, datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - the log line below still tells the operator
                log.error("retracted signal not marked", key=signal.key, error=repr(exc))
        log.error(
            "leader fill retracted (its transaction was dropped, replaced or reverted); review its copies"
            if provisional
            else "copied leader fill retracted by a re-org; review its copies",
            key=signal.key,
            leader=signal.leader,
            tx_hash=signal.tx_hash,
            reason=reason,
        )
        if on_retract is not None:
            await on_retract(signal)

    return signal_retracted


def engine_confirm(engine: CopyEngine) -> Callable[[Signal], Awaitable[None]]:
    async def confirmed(signal: Signal) -> None:
        """A fill first seen pending is mined: the configs that waited for it copy it now."""
        await engine.confirm(signal)

    return confirmed


@dataclass(eq=False)
class App:
    """One process's object graph; `close()` closes what was opened, newest first."""

    settings: Settings
    run_file: RunFile | None
    custody: CustodyRegistry
    registry: CollectorRegistry
    worker_id: str
    heap_trimmer: HeapTrimmer
    db: Database
    sessions: SessionFactory
    coord: Coordinator
    followers: list[Provisioned]
    executors: dict[CustodyMode, Executor]
    values: ValueContext
    positions: PositionsValue
    engine: CopyEngine
    ingest: IngestService
    sweeper: PendingSweeper
    lifecycle: MarketLifecycle
    market_channel: MarketChannelListener | None = None  # None: ingest.market_events is off
    closers: list[Closer] = field(default_factory=list)
    api: ApiServer | None = None
    health: Health | None = None
    live: LiveSync | None = None
    auth: AuthService | None = None
    cluster: ClusterWorker | None = None  # a `polyhunter worker`: its roles, membership, partitions
    pnl: DailyPnlWriter | None = None  # the daily PnL series (runtime/pnl_writer.py)
    queries: Queries = field(init=False)

    def __post_init__(self) -> None:
        self.queries = Queries(self)

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
        self.closers = []


async def build_app(
    settings: Settings,
    run: RunFile | None,
    *,
    on_copy: Callable[[CopyRecord], None] | None = None,
    on_retract: RetractHandler | None = None,
    serve_api: bool = True,
    extra_exchanges: tuple[str, ...] = (),
    custody: CustodyRegistry = CUSTODY,
    closers: list[Closer] | None = None,
    roles: tuple[str, ...] | None = None,
) -> App:
    """`closers` (if given) collects what is opened as it is, so a caller can close it when building
    fails half-way. `roles` (a `polyhunter worker`: "ingest", "execute"): the process is a cluster
    worker (Redis Streams; see cluster/worker.py); None: one process does everything (`polyhunter run`)."""
    if roles is not None and settings.coord.backend != "redis":
        raise ValueError("a cluster worker needs coord.backend = redis (the signal stream and the leases)")
    started_at = time.time()  # leaders are followed from here (see IngestService follow_from)
    s = settings
    registry = CollectorRegistry()
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    closers = [] if closers is None else closers
    await upgrade(s.db)
    db = create_engine(s.db)
    closers.append(db.dispose)
    sessions = create_session_factory(db)
    copy_store = SqlCopyStore(sessions)  # what the engine and its sweep read and write
    box = await open_secret_box(s.secrets, sessions)  # never a new key for stored secrets
    # A run file's followers (provisioned: `polyhunter run`, the demo), then the accounts' (the API's)
    followers = [] if run is None else await provision(sessions, box, run, custody=custody)
    provisioned = {f.user_id for f in followers}
    followers += [f for f in await account_followers(sessions, box) if f.user_id not in provisioned]
    run_leaders = [] if run is None else run.leaders()
    deployment = await deployment_id(sessions)
    coord = await make_coordinator(s.coord, deployment_id=deployment, max_connections=redis_pool_size(s))
    closers.append(coord.close)
    policy = RetryPolicy(max_retries=s.venue.max_retries)
    market = ClobMarketData(HttpClient(s.venue.clob_url, s.venue.request_timeout_ms, policy))
    closers.append(market.close)
    order_version = await market.version()
    e = s.engine
    pricer = Pricer(
        market,
        quote_ttl_ms=e.quote_cache_ttl_ms,
        max_entries=e.quote_cache_max_entries,
        fallback_ttl_ms=e.fallback_price_ttl_ms,
        force_fallback=e.force_fallback_price,
    )
    # Reconciliation of a copy happens within its PENDING TTL and a sweep or two after it.
    remember_s = e.pending_ttl_s + 2 * e.expiry_scan_interval_ms / 1000
    wallet_of_user = {f.user_id: f.wallet.id for f in followers}
    build = BuildContext(
        s,
        sessions,
        box,
        pricer.book,
        order_version,
        remember_s,
        wallet_of_user,
        closers,
        pricer.fee_rate,
        registry,
    )
    executors: dict[CustodyMode, Executor] = {}
    for kind in custody:  # every registered custody has its executor, with or without followers
        executors[kind.mode] = await kind.build(build, [f for f in followers if f.spec.custody == kind.mode])
    g = s.guardrails
    guard = Guard(
        coord,
        GuardrailLimits(g.max_trade_usdc, g.daily_user_cap_usdc, g.global_daily_cap_usdc, g.dry_run),
        g.circuit_breaker_failures,
        g.circuit_breaker_cooldown_s * 1000,
        spent_today=copy_store.spent_today,  # lost counters are rebuilt from the store
    )
    for f in followers:  # a follower's own [followers.limits], on top of [guardrails]
        limits = f.spec.limits
        guard.set_user_limits(
            f.user_id, daily_cap_usdc=limits.daily_cap_usdc, max_trade_usdc=limits.max_trade_usdc
        )
    # today's spend survives a restart
    await seed_guard(guard, copy_store, datetime.now(UTC), [f.user_id for f in followers])
    data_api = DataApiClient(
        s.venue.data_api_url,
        s.venue.request_timeout_ms,
        policy,
        positions_max_pages=s.venue.positions_max_pages,
    )
    closers.append(data_api.close)
    portfolio = LeaderPortfolio(leader_holdings(data_api))  # leaders' (and own wallets') positions
    gamma = GammaClient(s.venue.gamma_url, s.venue.request_timeout_ms, policy)
    closers.append(gamma.close)
    values = ValueContext(pricer.book, pricer.midpoint, portfolio, s.venue.data_api_url)
    positions = PositionsValue(executors, values, custody)
    engine = CopyEngine(
        copy_store,
        pricer,
        executors,
        guard,
        e,
        StageMetrics(registry),
        worker_id,
        portfolio=portfolio,
        positions_value=positions,
        on_copy=on_copy,
        markets=MarketDirectory(gamma.market_ref),  # slugs and tags for the market filters
        records_signals=roles is None,  # a cluster's ingest records signals; partitions add copies
    )
    await seed_exposure(engine.exposure, copy_store)  # per-market caps survive a restart
    cluster = None
    known_followers = {f.user_id for f in followers}  # the live sync adds the accounts' new ones
    if roles is not None:
        handover = PartitionHandover(
            engine, copy_store, lambda: known_followers, executor_reloads(custody, build, executors)
        )
        cluster = ClusterWorker(
            s.cluster,
            cluster_redis(s.coord.redis_url, s.cluster.partitions, s.cluster.read_block_ms),
            cluster_prefix(redis_key_prefix(s.coord, deployment)),
            worker_id,
            roles,
            handle=engine.handle if "execute" in roles else None,
            record=copy_store.record_signals,
            release_orphans=functools.partial(
                recover_partition, sessions, window=timedelta(seconds=s.ingest.max_signal_age_s)
            ),
            take=handover.take,
            release=handover.release,
        )
        closers.append(cluster.close)
        await cluster.start()
        export_cluster(registry, cluster)
    ingest_clients = IngestClients.from_settings(s, data_api=data_api)  # one Data API client
    closers.append(ingest_clients.close)
    ingest = IngestService(
        s,
        sorted(set(run_leaders) | await account_leaders(sessions)),
        sessions,
        engine.handle if cluster is None else cluster.publish,
        clients=ingest_clients,
        registry=registry,
        coord=coord,
        extra_exchanges=extra_exchanges,
        on_retract=retract_handler(on_retract, engine, copy_store),
        on_confirm=engine_confirm(engine),
        sink_records=True,
        follow_from=started_at,
        leader_shards=None if cluster is None else s.cluster.ingest_shards,
    )
    if cluster is not None and "ingest" in cluster.roles:  # its pollers follow the shards it leases
        cluster.shards.attach(ingest.follow_shards, ingest.shards_settled)
    mux = ingest.mux  # occupancy and backpressure (the engine's intake, the push reader) in /metrics
    export_intake(registry, engine.intake.pressure, lambda: (mux.push_waits, mux.push_wait_s))
    sweeper = PendingSweeper(
        copy_store,
        executors,
        engine,
        ttl_s=e.pending_ttl_s,
        interval_ms=e.expiry_scan_interval_ms,
        worker_id=worker_id,
    )
    lifecycle, channel = market_lifecycle(s, engine, market, executors, copy_store.sessions)
    app = App(
        settings=s,
        run_file=run,
        custody=custody,
        registry=registry,
        worker_id=worker_id,
        heap_trimmer=HeapTrimmer(e.heap_trim_interval_s),
        db=db,
        sessions=sessions,
        coord=coord,
        followers=followers,
        executors=executors,
        values=values,
        positions=positions,
        engine=engine,
        ingest=ingest,
        sweeper=sweeper,
        lifecycle=lifecycle,
        market_channel=channel,
        closers=closers,
        cluster=cluster,
    )
    app.health = app_health(app, market)
    app.pnl = DailyPnlWriter(
        SqlDailyPnl(sessions),
        venue_marks(market.midpoint, market.last_trade_price),
        s.engine.pnl_daily_interval_s,
    )
    app.live = LiveSync(
        sessions,
        box,
        custody,
        build,
        executors,
        guard,
        engine,
        ingest,
        run_leaders,
        known_followers,
        interval_s=s.api.sync_interval_ms / 1000,
        feed=change_feed(s, deployment, closers),
    )
    await app.live.start()
    app.auth = AuthService(sessions, session_ttl_s=s.api.session_ttl_s)
    if serve_api:
        platform = Platform(
            app.auth,
            PlatformService(sessions, box, custody, notify=app.live.notify),
            s.api.secure_cookies,
            pnl=PnlService(sessions),
            rankings=LeaderRankings(data_api),
        )
        app.api = ApiServer(create_app(registry, app.queries, app.health, platform), s.api.host, s.api.port)
    return app


def change_feed(s: Settings, deployment: str, closers: list[Closer]) -> ChangeFeed | None:
    """The config change feed on Redis (coord/change_feed.py); None without Redis (one process: the
    service layer wakes its own live sync)."""
    if s.coord.backend != "redis":
        return None
    feed = ChangeFeed(s.coord.redis_url, changes_channel(redis_key_prefix(s.coord, deployment)))
    closers.append(feed.close)
    return feed


def executor_reloads(
    custody: CustodyRegistry, build: BuildContext, executors: dict[CustodyMode, Executor]
) -> list[Reload]:
    """Each custody's `reload` of a taken partition's followers (paper accounts), bound to its executor."""
    out: list[Reload] = []
    for kind in custody:
        executor = executors.get(kind.mode)
        if kind.reload is not None and executor is not None:
            out.append(functools.partial(kind.reload, build, executor))
    return out


def market_lifecycle(
    s: Settings,
    engine: CopyEngine,
    market: ClobMarketData,
    executors: dict[CustodyMode, Executor],
    sessions: SessionFactory,
) -> tuple[MarketLifecycle, MarketChannelListener | None]:
    """The market lifecycle (closed and resolved markets, tick changes, redemptions) and, when
    `ingest.market_events` is on, the market channel that feeds it."""
    redeemers = {mode: ex for mode, ex in executors.items() if isinstance(ex, Redeemer)}

    def forget_funds(custody: CustodyMode, user_id: int) -> None:
        engine.funds.cache.invalidate((custody, user_id, ""))

    lifecycle = MarketLifecycle(
        SqlRedemptionStore(sessions),
        market,
        redeemers,
        engine.markets_closed,
        engine.pricer,
        interval_s=s.ingest.market_status_interval_s,
        on_redeemed=forget_funds,
    )
    if not s.ingest.market_events:
        return lifecycle, None
    channel = MarketChannelListener(
        s.venue.clob_ws_url, lifecycle.tokens, lifecycle.on_tick_change, lifecycle.on_resolved
    )
    return lifecycle, channel


def app_health(app: App, market: ClobMarketData) -> Health:
    """/health's checks: database (critical), Redis when configured, each ingestion source, the venue
    and the engine's intake."""
    checks = [database_check(app.db)]
    if isinstance(app.coord, RedisCoordinator):
        checks.append(ping_check("redis", app.coord.ping))
    checks += source_checks(app.queries.source_health, list(app.queries.source_health()))
    checks.append(venue_check(lambda: market.http.request("GET", "/time", retry=False)))
    intake = app.engine.intake
    checks.append(
        queue_check(lambda: intake.executing, app.settings.engine.signals_in_flight, intake.pressure)
    )
    return Health(checks)
