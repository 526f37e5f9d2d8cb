"""This deployment's identity: one row, made by migration 0003 with a random id.

Every process of a deployment shares its database, so they all read the same id; it is part of the
Redis key prefix (``coord.key_prefix:<id>``), so two deployments sharing one Redis never collide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from polyhunter.store.base import Base, utcnow
from polyhunter.store.types import UTCDateTime


class Deployment(Base):
    __tablename__ = "deployment"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    deployment_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
