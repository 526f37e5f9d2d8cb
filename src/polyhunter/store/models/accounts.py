"""Users, their wallets (secrets only encrypted) and the leaders they follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.enums import WalletKind
from polyhunter.store.types import BigId, UTCDateTime, str_enum

ADDRESS_LEN = 42


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A follower made through the API belongs to an account (NULL: a run file's follower) and keeps
    # what the run file would say about it: custody, paper starting cash, its own limits (micro-USDC).
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    custody: Mapped[str | None] = mapped_column(String(16))
    starting_cash_micro: Mapped[int | None] = mapped_column(BigInteger)
    daily_cap_micro: Mapped[int | None] = mapped_column(BigInteger)
    max_trade_micro: Mapped[int | None] = mapped_column(BigInteger)


class Wallet(Base):
    """An address PolyHunter trades or settles with.

    ``*_enc`` columns hold ``SecretBox`` ciphertexts bound to ``wallet:<address>:<column>``; the
    plaintext never touches the database.
    """

    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("address = lower(address)", name="address_lower"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    kind: Mapped[WalletKind] = mapped_column(str_enum(WalletKind, "wallet_kind"))
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN), unique=True)
    # Polymarket signature type (0 EOA, 1 POLY_PROXY, 2 GNOSIS_SAFE) and the funder holding the funds.
    signature_type: Mapped[int] = mapped_column(Integer, default=0)
    funder_address: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    private_key_enc: Mapped[str | None] = mapped_column(Text)
    clob_api_key_enc: Mapped[str | None] = mapped_column(Text)
    clob_api_secret_enc: Mapped[str | None] = mapped_column(Text)
    clob_api_passphrase_enc: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Leader(Base):
    __tablename__ = "leaders"
    __table_args__ = (CheckConstraint("address = lower(address)", name="address_lower"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN), unique=True)
    label: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
