"""Money owed around proxy custody: commissions, fleet-wallet float to reimburse, and user debts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.domain.signal import Side
from polyhunter.store.base import Base, utcnow
from polyhunter.store.enums import DebtStatus, ReimbursementStatus, SettlementStatus
from polyhunter.store.models.accounts import ADDRESS_LEN
from polyhunter.store.models.copying import ASSET_LEN
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
    settlement_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlements.id"), index=True)
    amount_micro: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(256))
    status: Mapped[DebtStatus] = mapped_column(str_enum(DebtStatus, "debt_status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FleetWorker(Base):
    """A platform hot wallet (a FLEET wallet row, key encrypted there) that trades for proxy users on float."""

    __tablename__ = "fleet_workers"
    __table_args__ = (CheckConstraint("float_limit_micro >= 0", name="float_limit_non_negative"),)

    wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"), primary_key=True)
    float_limit_micro: Mapped[int] = mapped_column(BigInteger)  # unsettled BUY float it may carry at once
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettlementRow(Base):
    """The settlement of one executed PROXY copy: shares and collateral between its worker and the proxy
    (plus the commission to the treasury), queued, sent in batches, retried with backoff, settled once."""

    __tablename__ = "settlements"
    __table_args__ = (
        Index(None, "status", "next_retry_at"),
        Index(None, "user_id", "status"),
        CheckConstraint(
            "shares_micro >= 0 AND collateral_micro >= 0 AND fee_micro >= 0 AND retry_count >= 0",
            name="amounts_non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    copy_trade_id: Mapped[int] = mapped_column(BigId, ForeignKey("copy_trades.id"), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    proxy_address: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    worker_wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"), index=True)
    side: Mapped[Side] = mapped_column(str_enum(Side, "side"))
    asset: Mapped[str] = mapped_column(String(ASSET_LEN))
    shares_micro: Mapped[int] = mapped_column(BigInteger)
    collateral_micro: Mapped[int] = mapped_column(
        BigInteger
    )  # BUY: owed to the worker; SELL: owed to the proxy
    fee_micro: Mapped[int] = mapped_column(BigInteger)  # commission to the treasury
    cost_basis_micro: Mapped[int | None] = mapped_column(BigInteger)  # SELL: average cost of the shares sold
    paid_collateral_micro: Mapped[int | None] = mapped_column(BigInteger)  # what moved (less when short)
    paid_fee_micro: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[SettlementStatus] = mapped_column(str_enum(SettlementStatus, "settlement_status"))
    # DIRECT: only the commission moves (proxy -> treasury); shares and collateral are the fill's, for the
    # position's average cost, and never move between a worker and the proxy (migration 0012)
    commission_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
