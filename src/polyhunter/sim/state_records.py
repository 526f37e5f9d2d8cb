"""Records the simulator keeps about what happened, independent of the engine's own objects.

``FillRow`` is one participant's side of one match, as the Data API and RTDS print it: the taker
gets one row per order (its legs aggregated at the average price, like the live ``/trades``), each
maker one row per leg. ``ReceivedOrder`` is one signed order exactly as the simulator received it
(admin ``GET /orders`` serves these so tests can count duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from polyhunter.domain.signal import Side
from polyhunter.sim.events import TradeEvent
from polyhunter.sim.units import micro_to_decimal

__all__ = ["ApiKey", "FillRow", "ReceivedOrder", "UserProfile", "fill_rows"]

SideText = Literal["BUY", "SELL"]


@dataclass(frozen=True, slots=True)
class FillRow:
    proxy_wallet: str  # lower-case 0x address (the funder / maker of the order)
    side: SideText
    asset: str
    condition_id: str
    size: Decimal  # shares
    price: Decimal  # average price of this row
    usdc_size: Decimal
    fee: Decimal  # pUSD paid by this row (takers only)
    timestamp_s: int
    timestamp_ms: int
    transaction_hash: str
    is_taker: bool
    seq: int  # global insertion order; ties on timestamp sort by it


def fill_rows(t: TradeEvent, tx_hash: str, first_seq: int) -> list[FillRow]:
    """The Data API / RTDS rows of one match: the taker's (legs aggregated at the average price),
    then one per maker leg; ``seq`` numbers them from ``first_seq``."""
    ts_s = t.timestamp_ms // 1000
    rows = [
        FillRow(
            proxy_wallet=t.taker_owner.lower(),
            side="BUY" if t.side is Side.BUY else "SELL",
            asset=t.token_id,
            condition_id=t.market,
            size=micro_to_decimal(t.size),
            price=(Decimal(t.usdc) / Decimal(t.size)) if t.size else t.price,
            usdc_size=micro_to_decimal(t.usdc),
            fee=micro_to_decimal(t.fee),
            timestamp_s=ts_s,
            timestamp_ms=t.timestamp_ms,
            transaction_hash=tx_hash,
            is_taker=True,
            seq=first_seq,
        )
    ]
    for i, m in enumerate(t.makers, start=1):
        rows.append(
            FillRow(
                proxy_wallet=m.owner.lower(),
                side="BUY" if m.side is Side.BUY else "SELL",
                asset=m.token_id,
                condition_id=t.market,
                size=micro_to_decimal(m.size),
                price=m.price,
                usdc_size=micro_to_decimal(m.usdc),
                fee=Decimal(0),
                timestamp_s=ts_s,
                timestamp_ms=t.timestamp_ms,
                transaction_hash=tx_hash,
                is_taker=False,
                seq=first_seq + i,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class UserProfile:
    name: str = ""
    pseudonym: str = ""
    bio: str = ""
    profile_image: str = ""


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key: str
    secret: str
    passphrase: str
    address: str  # checksummed EOA the key is bound to
    nonce: int


@dataclass(slots=True)
class ReceivedOrder:
    seq: int
    received_at_ms: int
    endpoint: str  # "POST /order" | "POST /orders"
    owner: str
    order_type: str
    post_only: bool
    order: dict[str, Any]  # the signed order fields as sent
    order_id: str = ""
    accepted: bool = False
    error: str = ""
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "received_at_ms": self.received_at_ms,
            "endpoint": self.endpoint,
            "owner": self.owner,
            "orderType": self.order_type,
            "postOnly": self.post_only,
            "order": self.order,
            "orderID": self.order_id,
            "accepted": self.accepted,
            "error": self.error,
            "status": self.status,
        }
