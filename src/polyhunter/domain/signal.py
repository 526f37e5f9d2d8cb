"""A signal: one leader fill, normalized, with one idempotency key whichever source saw it.

Signal key design (there is no trade id on any Polymarket surface):

* The fields that every source carries for a fill are the settlement transaction hash, the leader
  (the funder address: ``proxyWallet`` in RTDS / Data API, ``maker`` in ``OrderFilled``), the token id,
  the side and the size in shares. Size is exact on chain (6-decimal integers) and printed exactly by
  the Data API and RTDS (e.g. ``1030.92``), so it is compared as integer micro-shares.
* The price is left out on purpose: for a taker fill across several maker levels the APIs print an
  average with float rounding (``0.9597472099``) that the chain does not carry.
* One transaction can hold several fills of the same leader (several legs, or a MINT match where the
  leader buys both outcomes). Legs that differ in token, side or size already get different keys.
  Legs identical in all five fields (two resting orders of one leader filled by one taker for the same
  size) are told apart by an *ordinal*: the n-th such leg in the source's order gets ``ordinal = n``.
  Every source sees the same number of identical legs, so the set of keys agrees across sources.
* Addresses and hashes are lower-cased first (RTDS sends checksummed ``proxyWallet``, REST lower case).
* The mempool source sees the fill before its block, in the pending ``matchOrders`` transaction: the hash it
  will be mined under is already known (a transaction's hash does not change when it is mined), and the
  amounts the ``OrderFilled`` logs will carry follow from the calldata, so its key is the one the other
  sources compute once the fill is mined. A *replaced* transaction (same nonce, another hash) is another
  fill as far as the key goes: the mempool's signal is retracted, and what is mined comes with its own key.
The key is the first 16 bytes of BLAKE2b over those fields, hex: 32 characters, cheap to compute and
to index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

MICRO = Decimal(1_000_000)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class SourceKind(StrEnum):
    WS = "ws"
    POLL = "poll"
    CHAIN = "chain"
    MEMPOOL = "mempool"  # a pending settlement transaction: provisional until mined


PROVISIONAL_SOURCES = frozenset({SourceKind.MEMPOOL})  # their fills are not mined yet


def to_micro(amount: Decimal) -> int:
    """Shares or USDC as integer micro-units (6 decimals, like the chain)."""
    return int((amount * MICRO).to_integral_value(ROUND_HALF_EVEN))


def from_micro(micro: int) -> Decimal:
    return Decimal(micro) / MICRO


def signal_key(
    tx_hash: str, leader: str, asset: str, side: Side | str, size_micro: int, ordinal: int = 0
) -> str:
    raw = f"{tx_hash.lower()}|{leader.lower()}|{asset}|{side}|{size_micro}|{ordinal}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Signal:
    key: str
    leader: str  # lower-case funder address
    asset: str  # outcome token id (decimal string)
    condition_id: str
    side: Side
    size: Decimal  # shares
    price: Decimal  # USDC per share
    tx_hash: str  # lower-case
    fill_time: datetime  # UTC, when the fill happened (block / API timestamp)
    seen_at: datetime  # UTC, when this process received it
    source: SourceKind
    slug: str = ""
    outcome: str = ""

    @property
    def notional(self) -> Decimal:
        return self.size * self.price

    @property
    def provisional(self) -> bool:
        """Seen before its block (the mempool): the fill may still be dropped, replaced or reverted."""
        return self.source in PROVISIONAL_SOURCES

    @property
    def lag_ms(self) -> int:
        return int((self.seen_at - self.fill_time).total_seconds() * 1000)

    def fields(self) -> dict[str, str]:
        """Every field as a string (decimals and times exact): the stream entry's and `watch --json`'s."""
        return {
            "key": self.key,
            "leader": self.leader,
            "asset": self.asset,
            "condition_id": self.condition_id,
            "side": str(self.side),
            "size": str(self.size),
            "price": str(self.price),
            "tx_hash": self.tx_hash,
            "fill_time": self.fill_time.isoformat(),
            "seen_at": self.seen_at.isoformat(),
            "source": str(self.source),
            "slug": self.slug,
            "outcome": self.outcome,
        }
