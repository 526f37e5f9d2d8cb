"""Money owed around proxy custody: commissions, fleet-wallet float to reimburse, and user debts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.enums import DebtStatus, ReimbursementStatus
from polyhunter.store.models.signals import TX_HASH_LEN
from polyhunter.store.types import BigId, UTCDateTime, str_enum


class CommissionLog(Base):
    __tablename__ = "commission_logs"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        CheckConstraint("amount_micro >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    leader_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("leaders.id"))
    copy_trade_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("copy_trades.id"), index=True)
    basis_micro: Mapped[int] = mapped_column(BigInteger)  # the notional or profit the rate applies to
    rate_bps: Mapped[int] = mapped_column(Integer)
    amount_micro: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReimbursementEntry(Base):
    """Fleet-wallet float spent for a proxy user, to be paid back from the user's proxy."""

    __tablename__ = "reimbursement_ledger"
    __table_args__ = (
        Index(None, "status", "created_at"),
        Index(None, "user_id", "status"),
        CheckConstraint("amount_micro > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    fleet_wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"))
    copy_trade_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("copy_trades.id"), index=True)
    amount_micro: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ReimbursementStatus] = mapped_column(str_enum(ReimbursementStatus, "reimbursement_status"))
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DebtRecord(Base):
    """Money a user owes the platform (e.g. a reimbursement their proxy could not cover)."""

    __tablename__ = "debt_records"
    __table_args__ = (
        Index(None, "user_id", "status"),
        CheckConstraint("amount_micro > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reimbursement_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reimbursement_ledger.id"))
    amount_micro: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(256))
    status: Mapped[DebtStatus] = mapped_column(str_enum(DebtStatus, "debt_status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
