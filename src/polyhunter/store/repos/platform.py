"""Accounts that sign in, their tokens (only hashes stored), the audit log and the change counter.

The scoped resources of an account (followers, leaders, configs, copies) are in `owned.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.store.models import Account, AuditEvent, AuthToken, ChangeCounter
from polyhunter.store.repos.sql_helpers import rowcount


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    username: str
    role: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    account_id: int
    kind: str
    csrf_hash: str | None
    label: str | None
    created_at: datetime
    expires_at: datetime | None


def _account(row: Account) -> AccountRow:
    return AccountRow(row.id, row.username, row.role, row.password_hash, row.created_at)


def _token(row: AuthToken) -> TokenRow:
    return TokenRow(
        row.id, row.account_id, row.kind, row.csrf_hash, row.label, row.created_at, row.expires_at
    )


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, username: str, password_hash: str, role: str = "user") -> int:
        result = await self._session.execute(
            insert(Account)
            .values(username=username, password_hash=password_hash, role=role, active=True)
            .returning(Account.id)
        )
        return int(result.scalar_one())

    async def by_username(self, username: str) -> AccountRow | None:
        row = await self._session.scalar(
            select(Account).where(Account.username == username, Account.active.is_(True))
        )
        return None if row is None else _account(row)

    async def get(self, account_id: int) -> AccountRow | None:
        row = await self._session.get(Account, account_id)
        return None if row is None or not row.active else _account(row)

    async def set_role(self, account_id: int, role: str) -> bool:
        result = await self._session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(role=role)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def count(self) -> int:
        return len(list(await self._session.scalars(select(Account.id).limit(2))))

    # ------------------------------------------------------------------ tokens

    async def add_token(
        self,
        account_id: int,
        kind: str,
        token_hash: str,
        *,
        csrf_hash: str | None = None,
        label: str | None = None,
        expires_at: datetime | None = None,
    ) -> int:
        result = await self._session.execute(
            insert(AuthToken)
            .values(
                account_id=account_id,
                kind=kind,
                token_hash=token_hash,
                csrf_hash=csrf_hash,
                label=label,
                expires_at=expires_at,
            )
            .returning(AuthToken.id)
        )
        return int(result.scalar_one())

    async def by_token(self, token_hash: str, now: datetime) -> tuple[TokenRow, AccountRow] | None:
        """The live token with this hash and its active account (None: unknown, revoked, expired)."""
        found = (
            await self._session.execute(
                select(AuthToken, Account)
                .join(Account, Account.id == AuthToken.account_id)
                .where(
                    AuthToken.token_hash == token_hash,
                    AuthToken.revoked_at.is_(None),
                    Account.active.is_(True),
                )
            )
        ).one_or_none()
        if found is None:
            return None
        token, account = found
        if token.expires_at is not None and token.expires_at <= now:
            return None
        return _token(token), _account(account)

    async def tokens(self, account_id: int) -> list[TokenRow]:
        rows = await self._session.scalars(
            select(AuthToken)
            .where(AuthToken.account_id == account_id, AuthToken.revoked_at.is_(None))
            .order_by(AuthToken.id)
        )
        return [_token(r) for r in rows]

    async def revoke_token(self, account_id: int, token_id: int, now: datetime) -> bool:
        result = await self._session.execute(
            update(AuthToken)
            .where(
                AuthToken.id == token_id,
                AuthToken.account_id == account_id,
                AuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    # ------------------------------------------------------------------ audit and changes

    async def audit(self, account_id: int | None, action: str, target: str, detail: dict[str, Any]) -> None:
        await self._session.execute(
            insert(AuditEvent).values(
                account_id=account_id, action=action, target=target[:128], detail=detail
            )
        )

    async def audit_events(self, account_id: int, limit: int) -> list[AuditEvent]:
        rows = await self._session.scalars(
            select(AuditEvent)
            .where(AuditEvent.account_id == account_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        return list(rows)


async def bump_changes(session: AsyncSession, now: datetime) -> None:
    """Tell running engines that followers, leaders or configs changed (same transaction as the change)."""
    await session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(version=ChangeCounter.version + 1, changed_at=now)
        .execution_options(synchronize_session=False)
    )


async def change_version(session: AsyncSession) -> int:
    found = await session.scalar(select(ChangeCounter.version).where(ChangeCounter.id == 1))
    return int(found or 0)


async def switches(session: AsyncSession) -> tuple[bool, bool]:
    """The platform switches: (halted, dry_run) (`polyhunter switches`; migration 0013)."""
    row = (
        await session.execute(
            select(ChangeCounter.halted, ChangeCounter.dry_run).where(ChangeCounter.id == 1)
        )
    ).first()
    return (False, False) if row is None else (bool(row[0]), bool(row[1]))


async def set_switches(
    session: AsyncSession, now: datetime, *, halted: bool | None = None, dry_run: bool | None = None
) -> None:
    """Set the switches given and bump the change counter (every running engine reads them)."""
    values: dict[str, object] = {}
    if halted is not None:
        values["halted"] = halted
    if dry_run is not None:
        values["dry_run"] = dry_run
    if values:
        await session.execute(
            update(ChangeCounter)
            .where(ChangeCounter.id == 1)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    await bump_changes(session, now)
