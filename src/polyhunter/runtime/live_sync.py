"""Changes made through the API take effect in the running engine, without a restart.

Every write of the service layer bumps `change_counter.version` in its own transaction, then publishes
on the change feed (coord/change_feed.py: Redis pub/sub; in one process without Redis, the service wakes
this task directly). This task reads the counter as soon as the feed wakes it, and every
`api.sync_interval_ms` without (pub/sub is lossy; one indexed one-row read; works the same on SQLite and
PostgreSQL, and across processes: the API may run in another process than the engine). When it
moved, it loads the accounts' followers and the leaders they need, then

* a follower new to this process gets its executor account (the custody's `add`: a paper account,
  or an own wallet's signer and CLOB credentials from its encrypted key) and its own limits;
* ingestion follows exactly the run file's leaders plus the accounts' (watched, or copied by an
  active config): a new leader is in every source's filter from the next frame or poll round;
* the engine forgets its cached configs, so a new, changed, paused or removed config is read at the
  next signal;
* the platform switches (`polyhunter switches`: halted, dry run) reach the guardrails: every copy after
  them is vetoed KILL_SWITCH or DRY_RUN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.coord.change_feed import ChangeFeed
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.execution.registry import BuildContext, CustodyRegistry
from polyhunter.ingest.service import IngestService
from polyhunter.log import get_logger
from polyhunter.ports.venue import Executor
from polyhunter.runtime.provision import Provisioned
from polyhunter.secretbox import SecretBox
from polyhunter.service.resources import follower_spec
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.owned import FollowerRow, OwnedRepository
from polyhunter.store.repos.platform import change_version, switches
from polyhunter.store.repos.wallets import WalletRepository
from polyhunter.store.sessions import SessionFactory
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

MICRO = Decimal(1_000_000)


async def account_followers(sessions: SessionFactory, box: SecretBox) -> list[Provisioned]:
    """Every active follower an account made, as provisioning would give it (key decrypted)."""
    out = []
    async with unit_of_work(sessions) as session:
        rows = await OwnedRepository(session).followers(None)
        wallets = WalletRepository(session, box)
        for row in rows:
            if row.wallet_id is None:
                continue
            wallet = await wallets.load_by_id(row.wallet_id)
            if wallet is None:
                continue
            out.append(Provisioned(follower_spec(row, wallet.private_key), row.id, wallet, ()))
    return out


async def account_leaders(sessions: SessionFactory) -> set[str]:
    async with unit_of_work(sessions) as session:
        return await OwnedRepository(session).followed_leaders()


def _limits(row: FollowerRow) -> tuple[Decimal | None, Decimal | None]:
    daily = None if row.daily_cap_micro is None else Decimal(row.daily_cap_micro) / MICRO
    per_trade = None if row.max_trade_micro is None else Decimal(row.max_trade_micro) / MICRO
    return daily, per_trade


@dataclass(eq=False)
class LiveSync:
    sessions: SessionFactory
    box: SecretBox
    custody: CustodyRegistry
    build: BuildContext
    executors: dict[CustodyMode, Executor]
    guard: Guard
    engine: CopyEngine
    ingest: IngestService
    run_leaders: Sequence[str]
    known: set[int]  # follower ids this process has an executor account for
    interval_s: float = 0.5
    feed: ChangeFeed | None = None  # wakes this task when another process changed something
    version: int = -1
    syncs: int = 0
    wakes: int = 0  # polls the change feed (or a write of this process) asked for
    _limits: dict[int, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Read the change counter now (a write of the service layer, or the change feed)."""
        self._wake.set()

    async def notify(self) -> None:
        """The service layer's hook after a write: every process's live sync reads the counter now."""
        self.wake()
        if self.feed is not None:
            await self.feed.publish()

    async def start(self) -> None:
        """Read the counter (what the process was built from is current) and follow the leaders."""
        async with unit_of_work(self.sessions) as session:
            self.version = await change_version(session)
        await self.apply()

    async def run(self) -> None:
        listener = None if self.feed is None else asyncio.create_task(self.feed.listen(self.wake))
        try:
            while True:
                raise_if_cancelled()  # a cancel swallowed inside the loop
                try:
                    await asyncio.wait_for(self._wake.wait(), self.interval_s)
                    self.wakes += 1
                except TimeoutError:
                    pass
                self._wake.clear()  # a change from here on wakes the next round
                try:
                    await self.poll()
                except Exception as exc:  # noqa: BLE001 - a database blip: the next tick retries
                    log.warning("live sync failed; retrying", error=repr(exc))
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def poll(self) -> bool:
        """Apply what changed since the last read; True if something had."""
        async with unit_of_work(self.sessions) as session:
            version = await change_version(session)
        if version == self.version:
            return False
        await self.apply()
        self.version = version
        return True

    async def apply(self) -> None:
        async with unit_of_work(self.sessions) as session:
            halted, dry_run = await switches(session)
        if (halted, dry_run) != (self.guard.halted, self.guard.dry_run):
            log.warning("platform switches changed", halted=halted, dry_run=dry_run)
            self.guard.halted, self.guard.dry_run = halted, dry_run
        for f in await account_followers(self.sessions, self.box):
            await self._follower(f)
        async with unit_of_work(self.sessions) as session:
            rows = await OwnedRepository(session).followers(None)
        for row in rows:
            limits = _limits(row)
            if self._limits.get(row.id) != limits:
                self._limits[row.id] = limits
                self.guard.set_user_limits(row.id, daily_cap_usdc=limits[0], max_trade_usdc=limits[1])
        leaders = sorted(set(self.run_leaders) | await account_leaders(self.sessions))
        added = set(leaders) - set(self.ingest.leaders)
        self.ingest.set_leaders(leaders)
        self.engine.forget_configs(set(leaders) | added)
        self.syncs += 1
        if added:
            log.info("following new leaders", leaders=sorted(added))

    async def _follower(self, f: Provisioned) -> None:
        if f.user_id in self.known:
            return
        self.build.wallet_of_user[f.user_id] = f.wallet.id
        kind = self.custody.get(f.spec.custody)
        executor = self.executors.get(kind.mode)
        if kind.add is None or executor is None:
            log.warning("follower's custody cannot be added while running; restart", follower=f.user_id)
            return
        try:
            await kind.add(self.build, executor, f)
        except Exception as exc:  # noqa: BLE001 - one follower's wallet must not stop the others
            log.error("follower not added", follower=f.user_id, error=repr(exc))
            return
        self.known.add(f.user_id)
        log.info("follower added", follower=f.user_id, custody=str(kind.mode))
