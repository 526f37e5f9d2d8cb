"""Paper trading accounts: each PAPER follower's cash (its holdings are `positions` rows of its PAPER
wallet), so a restart resumes the same paper account instead of a fresh one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.types import BigId, UTCDateTime


class PaperAccount(Base):
    __tablename__ = "paper_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), unique=True)
    wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"))
    cash_micro: Mapped[int] = mapped_column(BigInteger)
    starting_cash_micro: Mapped[int] = mapped_column(BigInteger)
    realized_pnl_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
