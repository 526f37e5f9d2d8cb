"""Copy configs (versioned), copy trades and guardrail events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.domain.copy_config import CustodyMode, SizingMode
from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState, GuardrailDecision
from polyhunter.store.base import Base, utcnow
from polyhunter.store.types import BigId, JsonType, UTCDateTime, str_enum

SIGNAL_KEY_LEN = 64
ASSET_LEN = 96
PAUSED_REASON_LEN = 256


class CopyConfig(Base):
    """A (follower, leader) pair; what it does lives in its versions, ``current_version`` names the live one."""

    __tablename__ = "copy_configs"
    __table_args__ = (
        UniqueConstraint("user_id", "leader_id"),
        Index(None, "leader_id", "active"),
        CheckConstraint("current_version >= 1", name="current_version_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    leader_id: Mapped[int] = mapped_column(BigId, ForeignKey("leaders.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # Paused (an operator-needed error while handling it): its copies are SKIPPED until resumed.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_reason: Mapped[str | None] = mapped_column(String(PAUSED_REASON_LEN), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CopyConfigVersion(Base):
    """One immutable version of a copy config (``polyhunter.domain.copy_config.CopyConfig``).

    ``sizing_params``: ``{"value": "<decimal>"}``; ``filters``: sides, allow/deny markets, price bounds and
    the behaviour switches, decimals as strings. Limits are micro-USDC; NULL max means "no limit".
    """

    __tablename__ = "copy_config_versions"
    __table_args__ = (
        UniqueConstraint("config_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    config_id: Mapped[int] = mapped_column(BigId, ForeignKey("copy_configs.id"))
    version: Mapped[int] = mapped_column(Integer)
    sizing_mode: Mapped[SizingMode] = mapped_column(str_enum(SizingMode, "sizing_mode"))
    sizing_params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    filters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    custody_mode: Mapped[CustodyMode] = mapped_column(str_enum(CustodyMode, "custody_mode"))
    wallet_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("wallets.id"))
    min_trade_notional_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    max_trade_notional_micro: Mapped[int | None] = mapped_column(BigInteger)
    max_position_notional_micro: Mapped[int | None] = mapped_column(BigInteger)
    max_slippage_bps: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CopyTrade(Base):
    """The record of copying one signal for one config: prewritten PENDING, then exactly one terminal state."""

    __tablename__ = "copy_trades"
    __table_args__ = (
        UniqueConstraint("signal_key", "config_id"),
        ForeignKeyConstraint(
            ["config_id", "config_version"],
            ["copy_config_versions.config_id", "copy_config_versions.version"],
        ),
        Index(None, "state", "created_at"),
        Index(None, "state", "next_retry_at"),
        Index(None, "user_id", "created_at"),
        Index(None, "created_at"),
        CheckConstraint("retry_count >= 0", name="retry_count_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    signal_key: Mapped[str] = mapped_column(String(SIGNAL_KEY_LEN))
    config_id: Mapped[int] = mapped_column(BigId)  # with config_version: FK to copy_config_versions
    config_version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    state: Mapped[CopyTradeState] = mapped_column(str_enum(CopyTradeState, "copy_trade_state"))
    reason: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    side: Mapped[Side] = mapped_column(str_enum(Side, "side"))
    asset: Mapped[str] = mapped_column(String(ASSET_LEN))
    requested_size_micro: Mapped[int] = mapped_column(BigInteger)
    requested_price_micro: Mapped[int] = mapped_column(BigInteger)
    requested_notional_micro: Mapped[int] = mapped_column(BigInteger)
    filled_size_micro: Mapped[int | None] = mapped_column(BigInteger)
    filled_price_micro: Mapped[int | None] = mapped_column(BigInteger)
    fees_micro: Mapped[int | None] = mapped_column(BigInteger)
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filled_notional_micro: Mapped[int | None] = mapped_column(BigInteger)  # exact USDC of the fill


class GuardrailEvent(Base):
    """A guardrail decision worth keeping (every veto; allows where a rule wants an audit trail)."""

    __tablename__ = "guardrail_events"
    __table_args__ = (Index(None, "created_at"), Index(None, "user_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    decision: Mapped[GuardrailDecision] = mapped_column(str_enum(GuardrailDecision, "guardrail_decision"))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    config_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("copy_configs.id"))
    config_version: Mapped[int | None] = mapped_column(Integer)
    signal_key: Mapped[str | None] = mapped_column(String(SIGNAL_KEY_LEN))
    copy_trade_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("copy_trades.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
