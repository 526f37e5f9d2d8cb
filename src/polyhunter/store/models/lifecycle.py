"""Redemptions of resolved markets: one row per (follower, market), PENDING until its payout is
collected, then REDEEMED with the payout and the follower's realized PnL in that market."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import RedemptionState
from polyhunter.store.base import Base, utcnow
from polyhunter.store.models.copying import ASSET_LEN
from polyhunter.store.models.signals import TX_HASH_LEN
from polyhunter.store.types import BigId, UTCDateTime, str_enum

ERROR_LEN = 512


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("user_id", "condition_id"), Index(None, "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    custody_mode: Mapped[CustodyMode] = mapped_column(str_enum(CustodyMode, "custody_mode"))
    condition_id: Mapped[str] = mapped_column(String(TX_HASH_LEN))
    winning_token: Mapped[str] = mapped_column(String(ASSET_LEN))
    state: Mapped[RedemptionState] = mapped_column(str_enum(RedemptionState, "redemption_state"))
    shares_micro: Mapped[int] = mapped_column(BigInteger)
    payout_micro: Mapped[int] = mapped_column(BigInteger)
    bought_micro: Mapped[int] = mapped_column(BigInteger)
    sold_micro: Mapped[int] = mapped_column(BigInteger)
    fees_micro: Mapped[int] = mapped_column(BigInteger)
    realized_pnl_micro: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
