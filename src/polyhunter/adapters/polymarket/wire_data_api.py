"""Data API v1 (``https://data-api.polymarket.com``) rows: ``/trades``, ``/activity``, ``/positions``.

Responses are bare JSON arrays, camelCase, numbers as JSON numbers (``"size": 8643``,
``"price": 0.9597472099``); timestamps are epoch seconds. Protocol reference §1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import msgspec

from polyhunter.adapters.polymarket.wire_base import SideWire, WireCamel, decoder_for

ActivityType = Literal[
    "TRADE",
    "SPLIT",
    "MERGE",
    "REDEEM",
    "REWARD",
    "CONVERSION",
    "DEPOSIT",
    "WITHDRAWAL",
    "YIELD",
    "MAKER_REBATE",
    "TAKER_REBATE",
    "REFERRAL_REWARD",
]


class DataTrade(WireCamel, frozen=True, kw_only=True):
    """One ``GET /trades`` row (one fill, on the taker side unless ``takerOnly=false``)."""

    proxy_wallet: str  # funder address; lower case in REST, but compare lower-cased
    side: SideWire
    asset: str  # token id, decimal string
    condition_id: str
    size: Decimal  # shares
    price: Decimal  # may be an average over maker levels (0.9597472099)
    timestamp: int  # epoch seconds
    title: str | None = None
    slug: str | None = None
    icon: str | None = None
    event_slug: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    name: str | None = None
    pseudonym: str | None = None
    bio: str | None = None
    profile_image: str | None = None
    profile_image_optimized: str | None = None
    transaction_hash: str


class DataActivity(WireCamel, frozen=True, kw_only=True):
    """One ``GET /activity`` row. Rows that touch no market carry ``""`` for conditionId/asset/side."""

    proxy_wallet: str
    timestamp: int
    condition_id: str
    type: ActivityType
    size: Decimal
    usdc_size: Decimal
    transaction_hash: str
    price: Decimal
    asset: str
    side: Literal["BUY", "SELL", ""]
    outcome_index: int  # 999 = unknown
    title: str | None = None
    slug: str | None = None
    icon: str | None = None
    event_slug: str | None = None
    outcome: str | None = None
    name: str | None = None
    pseudonym: str | None = None
    bio: str | None = None
    profile_image: str | None = None
    profile_image_optimized: str | None = None
    is_combo: bool | None = None


class DataPosition(WireCamel, frozen=True, kw_only=True):
    """One ``GET /positions`` row. Note the spelling ``negativeRisk`` (Gamma: negRisk, CLOB: neg_risk)."""

    proxy_wallet: str
    asset: str
    condition_id: str
    size: Decimal
    avg_price: Decimal
    initial_value: Decimal
    current_value: Decimal
    cash_pnl: Decimal
    percent_pnl: Decimal
    total_bought: Decimal
    realized_pnl: Decimal
    percent_realized_pnl: Decimal
    cur_price: Decimal
    redeemable: bool
    mergeable: bool
    title: str | None = None
    slug: str | None = None
    icon: str | None = None
    event_slug: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    opposite_outcome: str | None = None
    opposite_asset: str | None = None
    end_date: str | None = None
    negative_risk: bool | None = None


class DataApiError(WireCamel, frozen=True, kw_only=True):
    """``{"error": "..."}`` with 400/401/500."""

    error: str


TRADES_DECODER = decoder_for(list[DataTrade])
ACTIVITY_DECODER = decoder_for(list[DataActivity])
POSITIONS_DECODER = decoder_for(list[DataPosition])
ACTIVITY_ROW_DECODER = decoder_for(DataActivity)
_RAW_ROWS = decoder_for(list[msgspec.Raw])


class _RowTimestamp(msgspec.Struct, frozen=True):
    timestamp: int


_ROW_TIMESTAMP = decoder_for(_RowTimestamp)


@dataclass(frozen=True, slots=True)
class UndecodableRow:
    """A row of a page that is JSON but not an activity row (a missing field, a wrong type)."""

    raw: bytes
    error: str
    timestamp: int | None  # its ``timestamp`` when that much is readable


class ActivityPage(list[DataActivity]):
    """The decodable rows of one ``/activity`` page; ``served`` rows were served (for paging), the
    ``undecodable`` ones are set aside instead of failing the whole page."""

    def __init__(self, rows: list[DataActivity], served: int, undecodable: list[UndecodableRow]) -> None:
        super().__init__(rows)
        self.served = served
        self.undecodable = undecodable


def _row_timestamp(raw: bytes) -> int | None:
    try:
        return _ROW_TIMESTAMP.decode(raw).timestamp
    except msgspec.DecodeError:
        return None


MAX_COMMAS_PER_ROW = 64  # a row has about 20 fields (and a few commas in its texts): a bound, not a limit


def _commas(data: bytes | str) -> int:
    return data.count(b",") if isinstance(data, bytes) else data.count(",")


def decode_activity_page(data: bytes | str, max_rows: int | None = None) -> ActivityPage:
    """A page row by row: raises ``msgspec.DecodeError`` only when the body is not a JSON array (or holds
    more than ``max_rows`` items: not a page of what was asked, and not worth decoding row by row)."""
    rows: list[DataActivity] = []
    bad: list[UndecodableRow] = []
    if max_rows is not None and _commas(data) > max_rows * MAX_COMMAS_PER_ROW:
        # checked before decoding: `[1,1,1,...]` of a few MB would be millions of objects at once
        raise msgspec.DecodeError(f"more items than a page of at most {max_rows} rows holds")
    items = _RAW_ROWS.decode(data)
    if max_rows is not None and len(items) > max_rows:
        raise msgspec.DecodeError(f"{len(items)} rows for a page of at most {max_rows}")
    for item in items:
        try:
            rows.append(ACTIVITY_ROW_DECODER.decode(item))
        except msgspec.DecodeError as exc:
            raw = bytes(item)
            bad.append(UndecodableRow(raw, str(exc), _row_timestamp(raw)))
    return ActivityPage(rows, len(items), bad)


def decode_trades(data: bytes | str) -> list[DataTrade]:
    return TRADES_DECODER.decode(data)


def decode_activity(data: bytes | str) -> list[DataActivity]:
    return ACTIVITY_DECODER.decode(data)


def decode_positions(data: bytes | str) -> list[DataPosition]:
    return POSITIONS_DECODER.decode(data)


__all__ = [
    "ActivityPage",
    "ActivityType",
    "DataActivity",
    "DataApiError",
    "DataPosition",
    "DataTrade",
    "UndecodableRow",
    "decode_activity",
    "decode_activity_page",
    "decode_positions",
    "decode_trades",
]
