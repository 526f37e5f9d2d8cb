"""Copy configs, versioned: a change never edits a version, it adds the next one.

Copy trades name the (config id, version) they were sized with, so history stays explainable after
the follower changes their settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.copy_config import CopyConfig as DomainConfig
from polyhunter.log import get_logger
from polyhunter.ports.store import StoredConfig
from polyhunter.store.models import CopyConfig, CopyConfigVersion, Leader, User
from polyhunter.store.models.copying import PAUSED_REASON_LEN
from polyhunter.store.repos.accounts import IN_CHUNK, LeaderRepository, normalize_address
from polyhunter.store.repos.config_mapping import to_domain, version_values
from polyhunter.store.repos.sql_helpers import is_postgresql, rowcount

log = get_logger(__name__)

__all__ = ["ConfigNotFoundError", "CopyConfigRepository", "PausedConfig", "StoredConfig"]


class ConfigNotFoundError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class PausedConfig:
    """A config paused by an operator-needed error, as status and `polyhunter config paused` show it."""

    config_id: int
    user_id: int
    username: str
    leader: str
    active: bool
    paused_at: datetime
    reason: str


class CopyConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._leader_ids: dict[str, int] = {}  # address -> id, of leaders ensured through this repository

    async def create(
        self, cfg: DomainConfig, *, wallet_id: int | None = None, active: bool = True
    ) -> StoredConfig:
        """A new config for (``cfg.user_id``, ``cfg.leader``) at version 1; ``cfg.id``/``cfg.version`` are ignored."""
        leader_id = self._leader_ids.get(cfg.leader)
        if leader_id is None:
            leader_id = self._leader_ids[cfg.leader] = await LeaderRepository(self._session).ensure(
                cfg.leader
            )
        config_id = (
            await self._session.execute(
                insert(CopyConfig)
                .values(user_id=cfg.user_id, leader_id=leader_id, active=active, current_version=1)
                .returning(CopyConfig.id)
            )
        ).scalar_one()
        await self._insert_version(int(config_id), 1, cfg, wallet_id)
        stored = dataclasses.replace(cfg, id=int(config_id), version=1, leader=normalize_address(cfg.leader))
        return StoredConfig(config=stored, wallet_id=wallet_id, active=active)

    async def update(
        self, config_id: int, cfg: DomainConfig, *, wallet_id: int | None = None
    ) -> StoredConfig:
        """Add the next version with ``cfg``'s settings and make it current. The config row is locked
        (``FOR UPDATE`` on PostgreSQL; SQLite transactions already hold the write lock), and
        UNIQUE (config_id, version) refuses a second writer that raced past anyway."""
        sel = select(CopyConfig, Leader.address).join(Leader, Leader.id == CopyConfig.leader_id)
        sel = sel.where(CopyConfig.id == config_id)
        if is_postgresql(self._session):
            sel = sel.with_for_update(of=CopyConfig)
        found = (await self._session.execute(sel)).one_or_none()
        if found is None:
            raise ConfigNotFoundError(f"copy config {config_id} not found")
        row, leader = found
        version = row.current_version + 1
        await self._insert_version(config_id, version, cfg, wallet_id)
        await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.id == config_id)
            .values(current_version=version)
            .execution_options(synchronize_session=False)
        )
        stored = dataclasses.replace(cfg, id=config_id, version=version, user_id=row.user_id, leader=leader)
        return StoredConfig(config=stored, wallet_id=wallet_id, active=row.active)

    async def set_active(self, config_id: int, active: bool) -> bool:
        result = await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.id == config_id)
            .values(active=active)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def pause(self, config_id: int, reason: str, now: datetime) -> bool:
        """Pause the config with `reason` (the first reason stays if it is paused already); False if
        there is no such config."""
        result = await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.id == config_id, CopyConfig.paused_at.is_(None))
            .values(paused_at=now, paused_reason=reason[:PAUSED_REASON_LEN])
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            return True
        return await self._session.scalar(select(CopyConfig.id).where(CopyConfig.id == config_id)) is not None

    async def resume(self, config_id: int) -> bool:
        """Clear a pause; False if the config was not paused (or does not exist)."""
        result = await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.id == config_id, CopyConfig.paused_at.is_not(None))
            .values(paused_at=None, paused_reason=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def paused(self) -> list[PausedConfig]:
        """Every paused config, oldest pause first."""
        sel = (
            select(CopyConfig, Leader.address, User.username)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .join(User, User.id == CopyConfig.user_id)
            .where(CopyConfig.paused_at.is_not(None))
            .order_by(CopyConfig.paused_at, CopyConfig.id)
        )
        return [
            PausedConfig(
                cfg.id, cfg.user_id, username, leader, cfg.active, cfg.paused_at, cfg.paused_reason or ""
            )
            for cfg, leader, username in (await self._session.execute(sel)).all()
            if cfg.paused_at is not None
        ]

    async def deactivate_all_but(self, keep: set[int]) -> list[int]:
        """Deactivate every active config of a run file's followers (not of an account's: those are
        the API's) whose id is not in `keep`; the ids deactivated."""
        active = await self._session.scalars(
            select(CopyConfig.id)
            .join(User, User.id == CopyConfig.user_id)
            .where(CopyConfig.active.is_(True), User.account_id.is_(None))
        )
        gone = sorted(int(i) for i in active if int(i) not in keep)
        for start in range(0, len(gone), 500):
            await self._session.execute(
                update(CopyConfig)
                .where(CopyConfig.id.in_(gone[start : start + 500]))
                .values(active=False)
                .execution_options(synchronize_session=False)
            )
        return gone

    async def get(self, config_id: int, version: int | None = None) -> StoredConfig | None:
        """A config at ``version`` (default: its current version)."""
        wanted = CopyConfig.current_version if version is None else version
        sel = (
            select(CopyConfig, CopyConfigVersion, Leader.address)
            .join(CopyConfigVersion, CopyConfigVersion.config_id == CopyConfig.id)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .where(CopyConfig.id == config_id, CopyConfigVersion.version == wanted)
        )
        found = (await self._session.execute(sel)).one_or_none()
        if found is None:
            return None
        cfg, ver, leader = found
        return StoredConfig(
            to_domain(ver, user_id=cfg.user_id, leader=leader), ver.wallet_id, cfg.active, cfg.paused_reason
        )

    async def current_of_users(self, user_ids: Sequence[int]) -> dict[tuple[int, str], StoredConfig]:
        """Every config of ``user_ids`` at its current version, by (user id, leader address): what a
        run file's provisioning compares with, in a few queries instead of two per config. A stored
        version that no longer reads as a config is left out (provisioning then writes a new one)."""
        out: dict[tuple[int, str], StoredConfig] = {}
        for start in range(0, len(user_ids), IN_CHUNK):
            sel = (
                select(CopyConfig, CopyConfigVersion, Leader.address)
                .join(Leader, Leader.id == CopyConfig.leader_id)
                .join(
                    CopyConfigVersion,
                    (CopyConfigVersion.config_id == CopyConfig.id)
                    & (CopyConfigVersion.version == CopyConfig.current_version),
                )
                .where(CopyConfig.user_id.in_(user_ids[start : start + IN_CHUNK]))
            )
            for cfg, ver, leader in (await self._session.execute(sel)).all():
                try:
                    domain = to_domain(ver, user_id=cfg.user_id, leader=leader)
                except Exception as exc:  # noqa: BLE001 - a bad stored row is rewritten, not raised
                    log.warning("stored config version does not read", config_id=cfg.id, error=repr(exc))
                    continue
                out[(int(cfg.user_id), leader)] = StoredConfig(
                    domain, ver.wallet_id, cfg.active, cfg.paused_reason
                )
        return out

    async def id_for(self, user_id: int, leader: str) -> int | None:
        """The id of `user_id`'s config following `leader` (an address as stored), if any."""
        found = await self._session.scalar(
            select(CopyConfig.id)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .where(CopyConfig.user_id == user_id, Leader.address == leader)
        )
        return int(found) if found is not None else None

    async def active_for_leader(self, leader: str) -> list[StoredConfig]:
        """Every active config following ``leader``, at its current version (ordered by config id);
        a config whose stored version no longer reads as a valid config is left out."""
        return (await self.active_for_leader_checked(leader))[0]

    async def active_for_leader_checked(
        self, leader: str
    ) -> tuple[list[StoredConfig], list[tuple[int, str]]]:
        """(the active configs following ``leader`` as `active_for_leader`, [(config id, reason)] of
        those whose stored version does not read as a valid config: one bad row never hides the
        others)."""
        sel = (
            select(CopyConfig, CopyConfigVersion)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .join(
                CopyConfigVersion,
                (CopyConfigVersion.config_id == CopyConfig.id)
                & (CopyConfigVersion.version == CopyConfig.current_version),
            )
            .where(Leader.address == normalize_address(leader), CopyConfig.active.is_(True))
            .order_by(CopyConfig.id)
        )
        addr = normalize_address(leader)
        found: list[StoredConfig] = []
        broken: list[tuple[int, str]] = []
        for cfg, ver in (await self._session.execute(sel)).all():
            try:
                domain = to_domain(ver, user_id=cfg.user_id, leader=addr)
            except Exception as exc:  # noqa: BLE001 - a bad stored row is reported, not raised
                broken.append((int(cfg.id), f"BAD_CONFIG: {type(exc).__name__}: {exc}"))
                continue
            found.append(StoredConfig(domain, ver.wallet_id, cfg.active, cfg.paused_reason))
        return found, broken

    async def _insert_version(
        self, config_id: int, version: int, cfg: DomainConfig, wallet_id: int | None
    ) -> None:
        await self._session.execute(
            insert(CopyConfigVersion).values(
                config_id=config_id, version=version, wallet_id=wallet_id, **version_values(cfg)
            )
        )
