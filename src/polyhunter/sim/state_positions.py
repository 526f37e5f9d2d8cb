"""A wallet's holding of one token as the Data API ``/positions`` prints it (built from the engine ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Holding"]


@dataclass(frozen=True, slots=True)
class Holding:
    wallet: str  # lower-case
    asset: str
    condition_id: str
    size: Decimal  # shares held
    avg_price: Decimal  # cost basis per share held (fees excluded)
    total_bought: Decimal  # shares bought over the wallet's lifetime
    realized_pnl: Decimal  # fees included
    bought_cost: Decimal  # cost basis of what is still held
