"""The daily PnL series: one row per (copy config, UTC day), written by the running supervisor from the
store's own executed copies and redemptions (store/pnl_daily.py). Amounts in micro-USDC."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.types import BigId, UTCDateTime


class PnlDaily(Base):
    __tablename__ = "pnl_daily"
    __table_args__ = (Index(None, "user_id", "day"), Index(None, "leader_id", "day"))

    config_id: Mapped[int] = mapped_column(BigId, ForeignKey("copy_configs.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    leader_id: Mapped[int] = mapped_column(BigId, ForeignKey("leaders.id"))
    realized_micro: Mapped[int] = mapped_column(BigInteger)  # net of the day's fees
    fees_micro: Mapped[int] = mapped_column(BigInteger)
    unrealized_micro: Mapped[int] = mapped_column(BigInteger)  # at the day's end mark
    invested_micro: Mapped[int] = mapped_column(BigInteger)  # cost of the open positions at the day's end
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
