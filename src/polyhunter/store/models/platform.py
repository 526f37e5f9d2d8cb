"""The multi-user platform: accounts that sign in, their tokens, the leaders each watches, the audit
log, and the change counter the running engine polls to pick up what the API changed.

A follower (`users` row) belongs to an account through `users.account_id` (NULL: a run file's
follower, which `polyhunter run --config` owns); an account reaches its followers' configs, wallets
and copies only through that column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.types import BigId, JsonType, UTCDateTime

TOKEN_HASH_LEN = 64  # sha256 hex of a token; the token itself is never stored


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("role IN ('user', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, with its parameters and salt
    role: Mapped[str] = mapped_column(String(16), default="user")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthToken(Base):
    """A browser session (kind `session`, with its CSRF token's hash) or a bearer token for scripts
    (kind `api`); revoked by setting `revoked_at`."""

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api')", name="kind_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LEN), unique=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(TOKEN_HASH_LEN))
    label: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountLeader(Base):
    """A leader an account watches (ingestion follows it while any account watches it or any active
    config copies it)."""

    __tablename__ = "account_leaders"
    __table_args__ = (UniqueConstraint("account_id", "leader_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    leader_id: Mapped[int] = mapped_column(BigId, ForeignKey("leaders.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who changed what, when (every write through the API)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChangeCounter(Base):
    """One row: bumped in the same transaction as every change the running engine must pick up
    (followers, leaders, configs, pauses); the engine polls it (`runtime/live_sync.py`)."""

    __tablename__ = "change_counter"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # platform switches (`polyhunter switches`), read with the counter by every process (migration 0013)
    halted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
