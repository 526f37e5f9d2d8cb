"""What an account owns, through one service the API (and the dashboard) calls: followers with their
wallets (a key goes in encrypted, never comes out), watched leaders, copy configs (the run file's
validation), copies, and "stop everything". Each write is audited and bumps the change counter in the
same transaction, then (committed) calls `notify` (the change feed: every worker's live sync reads the
counter at once, runtime/live_sync.py); without it the engines pick the change up within
`api.sync_interval_ms`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from polyhunter.domain.copy_config import CustodyMode, sizing_value_problem
from polyhunter.execution.registry import CUSTODY, CustodyRegistry
from polyhunter.runtime.run_file import FollowerLimits, FollowerSpec
from polyhunter.secretbox import SecretBox
from polyhunter.service.auth import ConflictError, Principal
from polyhunter.service.models import ConfigIn, FollowerIn, LimitsIn
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.owned import (
    STOP_REASON,
    ConfigRow,
    CopyFilter,
    FollowerRow,
    LeaderRow,
    OwnedRepository,
)
from polyhunter.store.repos.platform import AccountRepository, bump_changes
from polyhunter.store.repos.wallets import WalletRepository
from polyhunter.store.sessions import Session, SessionFactory

MICRO = Decimal(1_000_000)


class FieldError(ValueError):
    """A value refused, naming its field (the API answers 422 with `loc`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(LookupError):
    """Missing, or someone else's (the API answers 404 for both)."""


def micro(value: Decimal | None) -> int | None:
    return None if value is None else int(value * MICRO)


def usdc(value: int | None) -> str | None:
    return None if value is None else str(Decimal(value) / MICRO)


def follower_name(username: str) -> str:
    """The name an account gave its follower (stored as `account/name`)."""
    return username.split("/", 1)[1] if "/" in username else username


def follower_spec(row: FollowerRow, private_key: str | None) -> FollowerSpec:
    """A stored follower as the run file would describe it (what executors are built from)."""
    return FollowerSpec(
        name=row.username,
        custody=CustodyMode(row.custody),
        starting_cash_usdc=Decimal(row.starting_cash_micro or 0) / MICRO
        if row.starting_cash_micro is not None
        else Decimal(1000),
        private_key=None if private_key is None else SecretStr(private_key),
        signature_type=row.signature_type,
        funder=row.funder_address,
        limits=FollowerLimits(
            daily_cap_usdc=None if row.daily_cap_micro is None else Decimal(row.daily_cap_micro) / MICRO,
            max_trade_usdc=None if row.max_trade_micro is None else Decimal(row.max_trade_micro) / MICRO,
        ),
    )


class PlatformService:
    def __init__(
        self,
        sessions: SessionFactory,
        box: SecretBox,
        custody: CustodyRegistry = CUSTODY,
        *,
        notify: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._custody = custody
        self._notify = notify

    @asynccontextmanager
    async def _write(self, who: Principal, action: str, target: str, **detail: Any) -> AsyncIterator[Session]:
        async with unit_of_work(self._sessions) as session:
            yield session
            await AccountRepository(session).audit(who.account_id, action, target, detail)
            await bump_changes(session, datetime.now(UTC))
        if self._notify is not None:  # committed: tell the engines (best effort; they also poll)
            await self._notify()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[OwnedRepository]:
        async with unit_of_work(self._sessions) as session:
            yield OwnedRepository(session)

    # ------------------------------------------------------------------ followers

    async def followers(self, who: Principal) -> list[tuple[FollowerRow, dict[str, Any]]]:
        async with self._read() as repo:
            states = await repo.copy_states(who.account_id)
            out = []
            for row in await repo.followers(who.account_id):
                out.append((row, await self._extra(repo, row, states)))
            return out

    async def follower(self, who: Principal, follower_id: int) -> tuple[FollowerRow, dict[str, Any]]:
        async with self._read() as repo:
            row = await repo.follower(who.account_id, follower_id)
            if row is None:
                raise NotFoundError(f"follower {follower_id} not found")
            return row, await self._extra(repo, row, await repo.copy_states(who.account_id))

    @staticmethod
    async def _extra(
        repo: OwnedRepository, row: FollowerRow, states: dict[int, dict[str, int]]
    ) -> dict[str, Any]:
        paper = await repo.paper_account(row.id)
        return {
            "copies": states.get(row.id, {}),
            "cash_micro": None if paper is None else paper.cash_micro,
            "realized_pnl_micro": None if paper is None else paper.realized_pnl_micro,
        }

    async def create_follower(self, who: Principal, body: FollowerIn) -> int:
        username = f"{who.username}/{body.name}"
        custody = CustodyMode(body.custody)
        if custody is CustodyMode.EOA and body.private_key is None:
            raise FieldError("private_key", "an own-wallet (EOA) follower needs its private key")
        if custody is CustodyMode.PAPER and body.private_key is not None:
            raise FieldError("private_key", "a paper follower holds no key")
        spec = FollowerSpec(
            name=username,
            custody=custody,
            starting_cash_usdc=body.starting_cash_usdc,
            private_key=body.private_key,
            signature_type=body.signature_type,
            funder=body.funder,
        )
        kind = self._custody.get(custody)
        for key, error in kind.check(spec):
            raise FieldError("private_key" if key == "private_key_env" else key, error)
        new = kind.wallet(spec)
        try:
            async with self._write(who, "follower.create", f"follower:{username}") as session:
                repo = OwnedRepository(session)
                if await WalletRepository(session, self._box).load(new.address) is not None:
                    raise ConflictError(f"wallet {new.address} is already registered")
                follower_id = await repo.create_follower(
                    who.account_id,
                    username,
                    {
                        "custody": str(custody),
                        "starting_cash_micro": micro(body.starting_cash_usdc),
                        "daily_cap_micro": micro(body.daily_cap_usdc),
                        "max_trade_micro": micro(body.max_trade_usdc),
                    },
                )
                await WalletRepository(session, self._box).create(
                    new.address,
                    new.kind,
                    user_id=follower_id,
                    private_key=new.private_key,
                    signature_type=body.signature_type,
                    funder_address=body.funder,
                )
        except IntegrityError:
            raise ConflictError(f"a follower named {body.name!r} exists already") from None
        return follower_id

    async def update_limits(self, who: Principal, follower_id: int, body: LimitsIn) -> None:
        values = {
            "daily_cap_micro": micro(body.daily_cap_usdc),
            "max_trade_micro": micro(body.max_trade_usdc),
        }
        async with self._write(
            who, "follower.limits", f"follower:{follower_id}", **_jsonable(values)
        ) as session:
            if not await OwnedRepository(session).update_follower(who.account_id, follower_id, values):
                raise NotFoundError(f"follower {follower_id} not found")

    async def remove_follower(self, who: Principal, follower_id: int) -> None:
        async with self._write(who, "follower.remove", f"follower:{follower_id}") as session:
            if not await OwnedRepository(session).remove_follower(who.account_id, follower_id):
                raise NotFoundError(f"follower {follower_id} not found")

    # ------------------------------------------------------------------ leaders

    async def leaders(self, who: Principal) -> list[tuple[LeaderRow, dict[str, Any]]]:
        async with self._read() as repo:
            configs = await repo.configs(who.account_id)
            return [
                (row, await self._record(repo, row, configs)) for row in await repo.leaders(who.account_id)
            ]

    async def leader(self, who: Principal, watch_id: int) -> tuple[LeaderRow, dict[str, Any]]:
        async with self._read() as repo:
            row = await repo.leader(who.account_id, watch_id)
            if row is None:
                raise NotFoundError(f"leader {watch_id} not found")
            return row, await self._record(repo, row, await repo.configs(who.account_id))

    @staticmethod
    async def _record(repo: OwnedRepository, row: LeaderRow, configs: list[ConfigRow]) -> dict[str, Any]:
        record = await repo.leader_record(row.address, datetime.now(UTC) - timedelta(days=1))
        record["configs"] = sum(1 for c in configs if c.stored.config.leader == row.address)
        return record

    async def add_leader(self, who: Principal, address: str, label: str | None) -> int:
        try:
            async with self._write(who, "leader.add", f"leader:{address}") as session:
                repo = OwnedRepository(session)
                if await repo.leader_by_address(who.account_id, address) is not None:
                    raise ConflictError(f"leader {address} is already in your list")
                return await repo.add_leader(who.account_id, address, label)
        except IntegrityError:
            raise ConflictError(f"leader {address} is already in your list") from None

    async def remove_leader(self, who: Principal, watch_id: int) -> None:
        async with self._write(who, "leader.remove", f"leader:{watch_id}") as session:
            if not await OwnedRepository(session).remove_leader(who.account_id, watch_id):
                raise NotFoundError(f"leader {watch_id} not found")

    # ------------------------------------------------------------------ configs

    async def configs(self, who: Principal) -> list[ConfigRow]:
        async with self._read() as repo:
            return await repo.configs(who.account_id)

    async def config(self, who: Principal, config_id: int) -> ConfigRow:
        async with self._read() as repo:
            row = await repo.config(who.account_id, config_id)
        if row is None:
            raise NotFoundError(f"config {config_id} not found")
        return row

    async def save_config(self, who: Principal, body: ConfigIn, config_id: int | None = None) -> int:
        """Create (config_id None) or change a config; refused values name their field."""
        problem = sizing_value_problem(body.sizing, body.sizing_value)
        if problem:
            raise FieldError("sizing_value", problem)
        action = "config.create" if config_id is None else "config.update"
        async with self._write(who, action, f"config:{config_id or 'new'}", leader=body.leader) as session:
            repo = OwnedRepository(session)
            follower = await repo.follower(who.account_id, body.follower_id)
            if follower is None:
                raise NotFoundError(f"follower {body.follower_id} not found")
            try:
                wanted = body.to_domain(follower.id, CustodyMode(follower.custody))
            except ValueError as exc:
                raise FieldError("config", str(exc)) from None
            configs = CopyConfigRepository(session)
            existing = await repo.config_id_any_state(follower.id, body.leader)
            if config_id is None:
                if existing is not None:
                    current = await configs.get(existing)
                    if current is not None and current.active:
                        raise ConflictError(
                            f"follower {body.follower_id} already copies {body.leader} (config {existing})"
                        )
                    stored = await configs.update(existing, wanted, wallet_id=follower.wallet_id)
                    await configs.set_active(existing, True)
                    return stored.config.id
                return (await configs.create(wanted, wallet_id=follower.wallet_id)).config.id
            current_row = await repo.config(who.account_id, config_id)
            if current_row is None:
                raise NotFoundError(f"config {config_id} not found")
            if current_row.follower_id != follower.id or current_row.stored.config.leader != body.leader:
                raise FieldError("leader", "a config's follower and leader stay; make a new config instead")
            same = dataclasses.replace(wanted, id=config_id, version=current_row.stored.config.version)
            if same != current_row.stored.config:
                await configs.update(config_id, wanted, wallet_id=follower.wallet_id)
            return config_id

    async def remove_config(self, who: Principal, config_id: int) -> None:
        async with self._write(who, "config.remove", f"config:{config_id}") as session:
            if await OwnedRepository(session).config(who.account_id, config_id) is None:
                raise NotFoundError(f"config {config_id} not found")
            await CopyConfigRepository(session).set_active(config_id, False)

    async def pause_config(self, who: Principal, config_id: int, pause: bool) -> None:
        action = "config.pause" if pause else "config.resume"
        async with self._write(who, action, f"config:{config_id}") as session:
            if await OwnedRepository(session).config(who.account_id, config_id) is None:
                raise NotFoundError(f"config {config_id} not found")
            repo = CopyConfigRepository(session)
            if pause:
                await repo.pause(config_id, "PAUSED_BY_OWNER", datetime.now(UTC))
            else:
                await repo.resume(config_id)

    async def stop_everything(self, who: Principal) -> int:
        async with self._write(who, "account.stop", f"account:{who.account_id}") as session:
            return await OwnedRepository(session).pause_all(who.account_id, STOP_REASON, datetime.now(UTC))

    async def resume_everything(self, who: Principal) -> int:
        async with self._write(who, "account.resume", f"account:{who.account_id}") as session:
            return await OwnedRepository(session).resume_all(who.account_id)

    # ------------------------------------------------------------------ copies

    async def copies(self, who: Principal, f: CopyFilter) -> list[tuple[Any, str, str]]:
        async with self._read() as repo:
            if f.follower_id is not None and await repo.follower(who.account_id, f.follower_id) is None:
                raise NotFoundError(f"follower {f.follower_id} not found")
            if f.config_id is not None and await repo.config(who.account_id, f.config_id) is None:
                raise NotFoundError(f"config {f.config_id} not found")
            return await repo.copies(who.account_id, f)

    async def audit(self, who: Principal, limit: int) -> list[Any]:
        async with unit_of_work(self._sessions) as session:
            return await AccountRepository(session).audit_events(who.account_id, limit)


def _jsonable(values: dict[str, int | None]) -> dict[str, Any]:
    return {k: v for k, v in values.items()}
