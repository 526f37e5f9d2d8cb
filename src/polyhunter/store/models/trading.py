"""Orders sent to the venue (or the paper executor), their fills, and the positions they build."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.domain.orders import OrderType
from polyhunter.domain.signal import Side
from polyhunter.domain.states import OrderStatus
from polyhunter.store.base import Base, utcnow
from polyhunter.store.models.copying import ASSET_LEN
from polyhunter.store.models.signals import TX_HASH_LEN
from polyhunter.store.types import BigId, JsonType, UTCDateTime, str_enum


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    copy_trade_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("copy_trades.id"), index=True)
    wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"), index=True)
    asset: Mapped[str] = mapped_column(String(ASSET_LEN))
    side: Mapped[Side] = mapped_column(str_enum(Side, "side"))
    price_micro: Mapped[int] = mapped_column(BigInteger)
    size_micro: Mapped[int] = mapped_column(BigInteger)
    order_type: Mapped[OrderType] = mapped_column(str_enum(OrderType, "order_type"))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"))
    raw_response: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Fill(Base):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("order_id", "venue_trade_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    venue_trade_id: Mapped[str | None] = mapped_column(String(128))
    price_micro: Mapped[int] = mapped_column(BigInteger)
    size_micro: Mapped[int] = mapped_column(BigInteger)
    fee_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    filled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Position(Base):
    """Shares of one token a user holds in one wallet (paper trading uses a PAPER wallet row)."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("user_id", "wallet_id", "asset"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    wallet_id: Mapped[int] = mapped_column(BigId, ForeignKey("wallets.id"))
    asset: Mapped[str] = mapped_column(String(ASSET_LEN))
    condition_id: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    shares_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    avg_price_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    realized_pnl_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
