"""Leader fills as seen by the sources, and the per-(leader, source) cursors that let sources resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.domain.signal import Side, SourceKind
from polyhunter.store.base import Base, utcnow
from polyhunter.store.models.accounts import ADDRESS_LEN
from polyhunter.store.models.copying import ASSET_LEN, SIGNAL_KEY_LEN
from polyhunter.store.types import BigId, JsonType, UTCDateTime, str_enum

TX_HASH_LEN = 66


class SignalRecord(Base):
    """One normalized leader fill (``polyhunter.domain.signal.Signal``), unique on its key."""

    __tablename__ = "signals"
    __table_args__ = (
        Index(None, "leader", "fill_time"),
        CheckConstraint("leader = lower(leader)", name="leader_lower"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(SIGNAL_KEY_LEN), unique=True)
    leader: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    asset: Mapped[str] = mapped_column(String(ASSET_LEN))
    condition_id: Mapped[str] = mapped_column(String(TX_HASH_LEN))
    side: Mapped[Side] = mapped_column(str_enum(Side, "side"))
    size_micro: Mapped[int] = mapped_column(BigInteger)
    price_micro: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(TX_HASH_LEN))
    source: Mapped[SourceKind] = mapped_column(str_enum(SourceKind, "source_kind"))
    slug: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str] = mapped_column(String(64), default="")
    fill_time: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A fill that never happened: its pending transaction was dropped, replaced or reverted (mempool), or
    # its block was re-orged away (chain). Copies made of it stand; they copied a fill that was undone.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retract_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class SignalCursor(Base):
    """Where a source stopped for a leader: the last fill timestamp and the keys already seen at it.

    Sources page by timestamp (second resolution on the Data API); fills sharing the last timestamp
    are re-read on resume and told apart by ``keys_at_ts``. ``last_block`` serves the chain source.
    """

    __tablename__ = "signal_cursors"
    __table_args__ = (
        UniqueConstraint("leader", "source"),
        CheckConstraint("leader = lower(leader)", name="leader_lower"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    leader: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    source: Mapped[SourceKind] = mapped_column(str_enum(SourceKind, "source_kind"))
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_block: Mapped[int | None] = mapped_column(BigInteger)
    keys_at_ts: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
