"""What an account owns, read and written only through the account: its followers (`users` rows
with its `account_id`), their wallets and configs, the leaders it watches, and its copies.

Every method takes the account id and filters on it; something that exists but belongs to another
account reads as missing (the API answers 404 for both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.ports.store import StoredConfig
from polyhunter.store.models import (
    AccountLeader,
    CopyConfig,
    CopyConfigVersion,
    CopyTrade,
    Leader,
    PaperAccount,
    SignalRecord,
    User,
    Wallet,
)
from polyhunter.store.repos.accounts import LeaderRepository
from polyhunter.store.repos.config_mapping import to_domain
from polyhunter.store.repos.sql_helpers import rowcount

STOP_REASON = "STOPPED_BY_OWNER"  # the pause reason of "stop everything"


@dataclass(frozen=True, slots=True)
class FollowerRow:
    id: int
    account_id: int | None
    username: str
    custody: str
    active: bool
    starting_cash_micro: int | None
    daily_cap_micro: int | None
    max_trade_micro: int | None
    wallet_id: int | None
    wallet_address: str | None
    has_private_key: bool
    signature_type: int
    funder_address: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LeaderRow:
    id: int
    address: str
    label: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConfigRow:
    stored: StoredConfig
    follower_id: int
    paused_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CopyFilter:
    state: str | None = None
    reason: str | None = None
    leader: str | None = None
    follower_id: int | None = None
    config_id: int | None = None
    market: str | None = None  # token id or condition id
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # cursor: copies with a smaller id
    limit: int = 50


def _follower_select() -> Any:
    return select(User, Wallet).outerjoin(Wallet, (Wallet.user_id == User.id) & (Wallet.active.is_(True)))


def _follower(user: User, wallet: Wallet | None) -> FollowerRow:
    return FollowerRow(
        id=user.id,
        account_id=user.account_id,
        username=user.username,
        custody=user.custody or (str(wallet.kind) if wallet is not None else "PAPER"),
        active=user.active,
        starting_cash_micro=user.starting_cash_micro,
        daily_cap_micro=user.daily_cap_micro,
        max_trade_micro=user.max_trade_micro,
        wallet_id=None if wallet is None else wallet.id,
        wallet_address=None if wallet is None else wallet.address,
        has_private_key=wallet is not None and wallet.private_key_enc is not None,
        signature_type=0 if wallet is None else wallet.signature_type,
        funder_address=None if wallet is None else wallet.funder_address,
        created_at=user.created_at,
    )


class OwnedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ followers

    async def followers(self, account_id: int | None = None) -> list[FollowerRow]:
        """The active followers of `account_id` (None: of every account, for the engine)."""
        sel = _follower_select().where(User.active.is_(True))
        if account_id is None:
            sel = sel.where(User.account_id.is_not(None))
        else:
            sel = sel.where(User.account_id == account_id)
        rows = (await self._session.execute(sel.order_by(User.id))).all()
        return [_follower(u, w) for u, w in rows]

    async def follower(self, account_id: int, follower_id: int) -> FollowerRow | None:
        sel = _follower_select().where(
            User.id == follower_id, User.account_id == account_id, User.active.is_(True)
        )
        found = (await self._session.execute(sel)).first()
        return None if found is None else _follower(found[0], found[1])

    async def create_follower(self, account_id: int, username: str, values: dict[str, Any]) -> int:
        result = await self._session.execute(
            insert(User)
            .values(username=username, account_id=account_id, active=True, **values)
            .returning(User.id)
        )
        return int(result.scalar_one())

    async def update_follower(self, account_id: int, follower_id: int, values: dict[str, Any]) -> bool:
        result = await self._session.execute(
            update(User)
            .where(User.id == follower_id, User.account_id == account_id, User.active.is_(True))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def adopt(self, account_id: int, user_ids: list[int]) -> None:
        """Make run-file followers the account's (the demo's followers, shown on its dashboard)."""
        await self._session.execute(
            update(User)
            .where(User.id.in_(user_ids), User.account_id.is_(None))
            .values(account_id=account_id)
            .execution_options(synchronize_session=False)
        )

    async def remove_follower(self, account_id: int, follower_id: int) -> bool:
        """Deactivate the follower and its configs (history stays)."""
        if not await self.update_follower(account_id, follower_id, {"active": False}):
            return False
        await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.user_id == follower_id)
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        return True

    async def paper_account(self, follower_id: int) -> PaperAccount | None:
        return await self._session.scalar(select(PaperAccount).where(PaperAccount.user_id == follower_id))

    # ------------------------------------------------------------------ leaders

    async def leaders(self, account_id: int) -> list[LeaderRow]:
        sel = (
            select(AccountLeader, Leader.address)
            .join(Leader, Leader.id == AccountLeader.leader_id)
            .where(AccountLeader.account_id == account_id)
            .order_by(AccountLeader.id)
        )
        return [
            LeaderRow(a.id, addr, a.label, a.created_at)
            for a, addr in (await self._session.execute(sel)).all()
        ]

    async def leader(self, account_id: int, watch_id: int) -> LeaderRow | None:
        sel = (
            select(AccountLeader, Leader.address)
            .join(Leader, Leader.id == AccountLeader.leader_id)
            .where(AccountLeader.account_id == account_id, AccountLeader.id == watch_id)
        )
        found = (await self._session.execute(sel)).first()
        return (
            None if found is None else LeaderRow(found[0].id, found[1], found[0].label, found[0].created_at)
        )

    async def leader_by_address(self, account_id: int, address: str) -> LeaderRow | None:
        for row in await self.leaders(account_id):
            if row.address == address:
                return row
        return None

    async def add_leader(self, account_id: int, address: str, label: str | None) -> int:
        leader_id = await LeaderRepository(self._session).ensure(address)
        result = await self._session.execute(
            insert(AccountLeader)
            .values(account_id=account_id, leader_id=leader_id, label=label)
            .returning(AccountLeader.id)
        )
        return int(result.scalar_one())

    async def remove_leader(self, account_id: int, watch_id: int) -> bool:
        row = await self._session.scalar(
            select(AccountLeader).where(AccountLeader.id == watch_id, AccountLeader.account_id == account_id)
        )
        if row is None:
            return False
        await self._session.delete(row)
        return True

    async def leader_record(self, address: str, since: datetime) -> dict[str, Any]:
        """The leader's fills seen since `since`: count, volume (USDC), last fill time."""
        sel = select(
            func.count(SignalRecord.id),
            func.coalesce(func.sum(SignalRecord.size_micro * SignalRecord.price_micro), 0),
            func.max(SignalRecord.fill_time),
        ).where(SignalRecord.leader == address, SignalRecord.fill_time >= since)
        count, volume, last = (await self._session.execute(sel)).one()
        return {"fills": int(count), "volume_micro2": int(volume), "last_fill": last}

    async def followed_leaders(self) -> set[str]:
        """What ingestion must follow for the accounts: watched leaders and leaders of active configs."""
        watched = select(Leader.address).join(AccountLeader, AccountLeader.leader_id == Leader.id)
        copied = (
            select(Leader.address)
            .join(CopyConfig, CopyConfig.leader_id == Leader.id)
            .join(User, User.id == CopyConfig.user_id)
            .where(CopyConfig.active.is_(True), User.active.is_(True), User.account_id.is_not(None))
        )
        return set(await self._session.scalars(watched)) | set(await self._session.scalars(copied))

    # ------------------------------------------------------------------ configs

    def _config_select(self, account_id: int) -> Any:
        return (
            select(CopyConfig, CopyConfigVersion, Leader.address)
            .join(User, User.id == CopyConfig.user_id)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .join(
                CopyConfigVersion,
                (CopyConfigVersion.config_id == CopyConfig.id)
                & (CopyConfigVersion.version == CopyConfig.current_version),
            )
            .where(User.account_id == account_id, CopyConfig.active.is_(True), User.active.is_(True))
        )

    async def configs(self, account_id: int, follower_id: int | None = None) -> list[ConfigRow]:
        sel = self._config_select(account_id)
        if follower_id is not None:
            sel = sel.where(CopyConfig.user_id == follower_id)
        rows = (await self._session.execute(sel.order_by(CopyConfig.id))).all()
        return [self._config_row(c, v, leader) for c, v, leader in rows]

    async def config(self, account_id: int, config_id: int) -> ConfigRow | None:
        found = (
            await self._session.execute(self._config_select(account_id).where(CopyConfig.id == config_id))
        ).first()
        return None if found is None else self._config_row(*found)

    @staticmethod
    def _config_row(cfg: CopyConfig, ver: CopyConfigVersion, leader: str) -> ConfigRow:
        stored = StoredConfig(
            to_domain(ver, user_id=cfg.user_id, leader=leader), ver.wallet_id, cfg.active, cfg.paused_reason
        )
        return ConfigRow(stored, cfg.user_id, cfg.paused_at, cfg.created_at)

    async def config_id_any_state(self, follower_id: int, leader: str) -> int | None:
        found = await self._session.scalar(
            select(CopyConfig.id)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .where(CopyConfig.user_id == follower_id, Leader.address == leader)
        )
        return None if found is None else int(found)

    async def pause_all(self, account_id: int, reason: str, now: datetime) -> int:
        owned = select(User.id).where(User.account_id == account_id)
        result = await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.user_id.in_(owned), CopyConfig.active.is_(True), CopyConfig.paused_at.is_(None))
            .values(paused_at=now, paused_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def resume_all(self, account_id: int) -> int:
        owned = select(User.id).where(User.account_id == account_id)
        result = await self._session.execute(
            update(CopyConfig)
            .where(CopyConfig.user_id.in_(owned), CopyConfig.paused_at.is_not(None))
            .values(paused_at=None, paused_reason=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    # ------------------------------------------------------------------ copies

    async def copies(self, account_id: int, f: CopyFilter) -> list[tuple[CopyTrade, str, str]]:
        """(copy, leader address, condition id) newest first, filtered; a page of at most `f.limit`."""
        sel = (
            select(CopyTrade, Leader.address, SignalRecord.condition_id)
            .join(User, User.id == CopyTrade.user_id)
            .join(CopyConfig, CopyConfig.id == CopyTrade.config_id)
            .join(Leader, Leader.id == CopyConfig.leader_id)
            .outerjoin(SignalRecord, SignalRecord.key == CopyTrade.signal_key)
            .where(User.account_id == account_id)
        )
        conds = [
            CopyTrade.state == f.state if f.state else None,
            CopyTrade.reason == f.reason if f.reason else None,
            Leader.address == f.leader if f.leader else None,
            CopyTrade.user_id == f.follower_id if f.follower_id is not None else None,
            CopyTrade.config_id == f.config_id if f.config_id is not None else None,
            or_(CopyTrade.asset == f.market, SignalRecord.condition_id == f.market) if f.market else None,
            CopyTrade.created_at >= f.since if f.since is not None else None,
            CopyTrade.created_at < f.until if f.until is not None else None,
            CopyTrade.id < f.before_id if f.before_id is not None else None,
        ]
        wanted = [c for c in conds if c is not None]
        if wanted:
            sel = sel.where(and_(*wanted))
        rows = (await self._session.execute(sel.order_by(CopyTrade.id.desc()).limit(f.limit))).all()
        return [(c, leader, cond or "") for c, leader, cond in rows]

    async def copy_states(self, account_id: int) -> dict[int, dict[str, int]]:
        """{follower id: {state: count}} over the account's copies."""
        sel = (
            select(CopyTrade.user_id, CopyTrade.state, func.count(CopyTrade.id))
            .join(User, User.id == CopyTrade.user_id)
            .where(User.account_id == account_id)
            .group_by(CopyTrade.user_id, CopyTrade.state)
        )
        out: dict[int, dict[str, int]] = {}
        for user_id, state, count in (await self._session.execute(sel)).all():
            out.setdefault(int(user_id), {})[str(state)] = int(count)
        return out
