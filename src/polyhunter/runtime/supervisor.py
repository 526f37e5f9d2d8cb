"""One supervisor process: ingestion → copy engine → executors, the PENDING sweep, and the metrics API.

Used by `polyhunter run` (a run file against the configured venue) and `polyhunter demo` (the
simulator), and by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.adapters.polymarket.auth import ApiCreds
from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.gamma_client import GammaClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType
from polyhunter.api.app import create_app
from polyhunter.api.server import ApiServer
from polyhunter.coord.factory import make_coordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.signal import Signal
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.engine.expiry import PendingSweeper
from polyhunter.engine.exposure_seed import seed_exposure
from polyhunter.engine.guard import Guard
from polyhunter.engine.market_meta import MarketDirectory
from polyhunter.engine.positions import LeaderHolding, LeaderPortfolio, LoadHoldings
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.spend_seed import seed_guard
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.execution.paper import PaperAccount, PaperExecutor
from polyhunter.ingest.chain_logs import RetractHandler
from polyhunter.ingest.service import IngestService
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.ports.venue import Executor
from polyhunter.runtime.equity import PositionsValue
from polyhunter.runtime.gc_tuning import tune_gc
from polyhunter.runtime.heap_trim import HeapTrimmer
from polyhunter.runtime.order_journal import OrderJournal
from polyhunter.runtime.paper_journal import PaperJournal
from polyhunter.runtime.provision import Provisioned, provision
from polyhunter.runtime.run_file import RunFile
from polyhunter.secretbox import secret_box_from_settings
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.migrate import upgrade
from polyhunter.store.repos.wallets import ClobCredentials, WalletRepository

log = get_logger(__name__)


def leader_holdings(client: DataApiClient) -> LoadHoldings:
    """A leader's open positions by token from the Data API (for sell mirroring and PROPORTIONAL)."""

    async def load(leader: str) -> dict[str, LeaderHolding]:
        positions = await client.positions(leader)
        return {p.asset: LeaderHolding(p.size, p.current_value) for p in positions}

    return load


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        run: RunFile,
        *,
        on_copy: Callable[[CopyRecord], None] | None = None,
        on_retract: RetractHandler | None = None,
        serve_api: bool = True,
        extra_exchanges: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.run_file = run
        self.registry = CollectorRegistry()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._on_copy = on_copy
        self._on_retract = on_retract
        self._serve_api = serve_api
        self._extra_exchanges = extra_exchanges
        self._closers: list[Callable[[], Any]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.heap_trimmer = HeapTrimmer(settings.engine.heap_trim_interval_s)
        self.db: AsyncEngine
        self.sessions: async_sessionmaker[AsyncSession]
        self.coord: Coordinator
        self.engine: CopyEngine
        self.ingest: IngestService
        self.sweeper: PendingSweeper
        self.paper: PaperExecutor
        self.eoa: EoaExecutor
        self.followers: list[Provisioned] = []
        self.api: ApiServer | None = None

    async def start(self) -> None:
        started_at = time.time()  # leaders are followed from here (see IngestService follow_from)
        s = self.settings
        await upgrade(s.db)
        self.db = create_engine(s.db)
        self._closers.append(self.db.dispose)
        self.sessions = create_session_factory(self.db)
        box = secret_box_from_settings(
            s.secrets.master_key.get_secret_value() if s.secrets.master_key else None,
            s.secrets.master_key_file,
        )
        self.followers = await provision(self.sessions, box, self.run_file)
        self.coord = await make_coordinator(s.coord, allow_fallback=False)
        self._closers.append(self.coord.close)
        policy = RetryPolicy(max_retries=s.venue.max_retries)
        market = ClobMarketData(HttpClient(s.venue.clob_url, s.venue.request_timeout_ms, policy))
        self._closers.append(market.close)
        order_version = await market.version()
        e = s.engine
        pricer = Pricer(
            market,
            quote_ttl_ms=e.quote_cache_ttl_ms,
            max_entries=e.quote_cache_max_entries,
            fallback_ttl_ms=e.fallback_price_ttl_ms,
            force_fallback=e.force_fallback_price,
        )
        eoa_accounts: dict[int, EoaAccount] = {}
        wallet_of_user: dict[int, int] = {}
        paper_journal = PaperJournal(self.sessions, wallet_of_user)  # paper accounts survive a restart
        restored = await paper_journal.restore()
        # Reconciliation of a copy happens within its PENDING TTL and a sweep or two after it.
        remember_s = e.pending_ttl_s + 2 * e.expiry_scan_interval_ms / 1000
        self.paper = PaperExecutor(pricer.book, on_change=paper_journal.save, remember_s=remember_s)
        for f in self.followers:
            wallet_of_user[f.user_id] = f.wallet.id
            if f.spec.custody == "PAPER":
                cash = f.spec.starting_cash_usdc
                self.paper.accounts[f.user_id] = restored.get(f.user_id) or PaperAccount(cash, cash)
            else:
                eoa_accounts[f.user_id] = await self._eoa_account(f, box_repo_sessions=self.sessions, box=box)
        journal = OrderJournal(self.sessions, wallet_of_user)
        self.eoa = EoaExecutor(
            eoa_accounts,
            chain_id=s.venue.chain_id,
            order_version=order_version,
            record_submit=journal.record_submit,
            lookup_submit=journal.lookup_submit,
            remember_s=remember_s,
        )
        executors: dict[CustodyMode, Executor] = {CustodyMode.PAPER: self.paper, CustodyMode.EOA: self.eoa}
        g = s.guardrails
        guard = Guard(
            self.coord,
            GuardrailLimits(g.max_trade_usdc, g.daily_user_cap_usdc, g.global_daily_cap_usdc, g.dry_run),
            g.circuit_breaker_failures,
            g.circuit_breaker_cooldown_s * 1000,
        )
        for f in self.followers:  # a follower's own [followers.limits], on top of [guardrails]
            limits = f.spec.limits
            guard.set_user_limits(
                f.user_id, daily_cap_usdc=limits.daily_cap_usdc, max_trade_usdc=limits.max_trade_usdc
            )
        await seed_guard(guard, self.sessions, datetime.now(UTC))  # today's spend survives a restart
        data_api = DataApiClient(s.venue.data_api_url, s.venue.request_timeout_ms, policy)
        self._closers.append(data_api.close)
        portfolio = LeaderPortfolio(leader_holdings(data_api))  # leaders' (and own wallets') positions
        gamma = GammaClient(s.venue.gamma_url, s.venue.request_timeout_ms, policy)
        self._closers.append(gamma.close)
        self.engine = CopyEngine(
            self.sessions,
            pricer,
            executors,
            guard,
            e,
            StageMetrics(self.registry),
            self.worker_id,
            portfolio=portfolio,
            positions_value=PositionsValue(self.paper, self.eoa, portfolio, pricer.book),
            on_copy=self._on_copy,
            markets=MarketDirectory(gamma.market_ref),  # slugs and tags for the market filters
        )
        await seed_exposure(self.engine.exposure, self.sessions)  # per-market caps survive a restart
        self.ingest = IngestService(
            s,
            self.run_file.leaders(),
            self.sessions,
            self.engine.handle,
            registry=self.registry,
            coord=self.coord,
            extra_exchanges=self._extra_exchanges,
            on_retract=self._signal_retracted,
            sink_records=True,
            follow_from=started_at,
        )
        self.sweeper = PendingSweeper(
            self.sessions,
            executors,
            self.engine,
            ttl_s=e.pending_ttl_s,
            interval_ms=e.expiry_scan_interval_ms,
            worker_id=self.worker_id,
        )
        if self._serve_api:
            self.api = ApiServer(create_app(self.registry, self.status), s.api.host, s.api.port)
            await self.api.start()
            self._closers.append(self.api.stop)
            log.info("api listening", url=self.api.url)
        tune_gc(e.gc_gen0_threshold)

    async def _eoa_account(
        self, f: Provisioned, *, box_repo_sessions: async_sessionmaker[AsyncSession], box: Any
    ) -> EoaAccount:
        s = self.settings
        key = f.wallet.private_key
        if key is None:
            raise ValueError(f"follower {f.spec.name}: EOA wallet has no key")
        creds = None
        if f.wallet.clob is not None:
            creds = ApiCreds(f.wallet.clob.api_key, f.wallet.clob.api_secret, f.wallet.clob.api_passphrase)
        http = HttpClient(
            s.venue.clob_url, s.venue.request_timeout_ms, RetryPolicy(max_retries=s.venue.max_retries)
        )
        client = ClobTradingClient(http, OrderSigner(key), s.venue.chain_id, creds)
        self._closers.append(client.close)
        if creds is None:
            creds = await client.ensure_api_key()
            async with unit_of_work(box_repo_sessions) as session:
                await WalletRepository(session, box).set_clob_credentials(
                    f.wallet.address, ClobCredentials(creds.api_key, creds.secret, creds.passphrase)
                )
        funder = f.wallet.funder_address or client.signer.address
        return EoaAccount(client, funder, SignatureType(f.wallet.signature_type))

    async def _signal_retracted(self, signal: Signal) -> None:
        """A leader fill that was copied has been re-orged away: the copies stand (they are orders of
        their own), so the operator is told, and the owner's hook (if any) decides what else to do."""
        log.error(
            "copied leader fill retracted by a re-org; review its copies",
            key=signal.key,
            leader=signal.leader,
            tx_hash=signal.tx_hash,
        )
        if self._on_retract is not None:
            await self._on_retract(signal)

    def status(self) -> dict[str, Any]:
        return {
            "worker": self.worker_id,
            "signals": self.engine.stats.signals,
            "copies": dict(self.engine.stats.copies),
            "duplicates": self.engine.stats.duplicates,
            "stages": self.engine.metrics.summary(),
            "ingest": self.ingest.snapshot(),
            "sweeper": {"expired": self.sweeper.stats.expired, "reconciled": self.sweeper.stats.reconciled},
            "heap_trim": {
                "runs": self.heap_trimmer.runs,
                "released": self.heap_trimmer.released,
                "last_ms": round(self.heap_trimmer.last_ms, 3),
            },
        }

    async def run(self, duration_s: float | None = None, *, stop_after: bool = True) -> None:
        """Run until `duration_s` passes (or forever); `stop_after=False` leaves clients open for a summary."""
        self._tasks = [
            asyncio.create_task(self.ingest.run(), name="ingest"),
            asyncio.create_task(self.sweeper.run(), name="sweeper"),
            asyncio.create_task(self._log_metrics(), name="metrics-log"),
            asyncio.create_task(self.heap_trimmer.run(), name="heap-trim"),
        ]
        try:
            if duration_s is None:
                await asyncio.gather(*self._tasks)
            else:
                done, _ = await asyncio.wait(
                    self._tasks, timeout=duration_s, return_when=asyncio.FIRST_EXCEPTION
                )
                for task in done:
                    task.result()
        finally:
            if stop_after:
                await self.stop()
            else:
                await self._stop_tasks()

    async def _log_metrics(self) -> None:
        while True:
            await asyncio.sleep(self.settings.engine.metrics_interval_ms / 1000)
            log.info("stage latency", **self.engine.metrics.summary())

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # No new signals from here; copies already executing get their venue answers (two request
        # timeouts at most), so a stop leaves no order unaccounted for.
        cut = await self.engine.drain(2 * self.settings.venue.request_timeout_ms / 1000)
        if cut:
            log.warning("copies cut off at shutdown; the PENDING sweep settles them", signals=cut)
        if self._tasks:
            # Copies parked below the venue minimum cannot complete once we stop: close them now.
            await self.sweeper.close_aggregates(everything=True)
        self._tasks = []

    async def stop(self) -> None:
        await self._stop_tasks()
        await self.ingest.close()
        for close in reversed(self._closers):
            await close()
        self._closers = []

    def paper_equity(self, marks: dict[str, Decimal]) -> dict[int, Decimal]:
        return {uid: acct.equity(marks) for uid, acct in self.paper.accounts.items()}
