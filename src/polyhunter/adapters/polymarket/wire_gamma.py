"""Gamma API (``https://gamma-api.polymarket.com``) market and event metadata.

Only the fields the platform uses for market metadata are declared; the many display and volume
fields Gamma adds are ignored on decode. Gamma quirks kept as served: ``outcomes``,
``outcomePrices`` and ``clobTokenIds`` are JSON-encoded *strings* (some trimmed captures carry real
arrays, so both are accepted); market ``liquidity``/``volume`` are strings while the event's are
numbers; ``questionID`` and ``negRiskMarketID`` end in upper-case ``ID``.
"""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec

from polyhunter.adapters.polymarket.wire_base import WireCamel, decoder_for
from polyhunter.adapters.polymarket.wire_validation import SCHEMA, InvalidMessage, parse_decimal


def _string_list(value: str | list[str] | None) -> list[str]:
    """A JSON array (or its JSON-encoded string); :class:`InvalidMessage` for anything else."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise InvalidMessage(SCHEMA, f"expected a JSON array string, got {value[:80]!r}") from exc
    if not isinstance(parsed, list):
        raise InvalidMessage(SCHEMA, f"expected a JSON array string, got {value[:80]!r}")
    return [str(v) for v in parsed]


class GammaTag(WireCamel, frozen=True, kw_only=True):
    id: str
    label: str
    slug: str


class GammaMarket(WireCamel, frozen=True, kw_only=True):
    id: str | None = None
    question: str | None = None
    condition_id: str | None = None
    slug: str | None = None
    end_date: str | None = None
    liquidity: str | None = None
    start_date: str | None = None
    description: str | None = None
    outcomes: str | list[str] | None = None  # JSON string: '["Yes", "No"]'
    outcome_prices: str | list[str] | None = None
    volume: str | None = None
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    restricted: bool | None = None
    group_item_title: str | None = None
    question_id: str | None = msgspec.field(default=None, name="questionID")
    enable_order_book: bool | None = None
    order_price_min_tick_size: Decimal | None = None
    order_min_size: Decimal | None = None
    end_date_iso: str | None = None
    clob_token_ids: str | list[str] | None = None  # JSON string on Gamma
    maker_base_fee: int | None = None
    taker_base_fee: int | None = None
    accepting_orders: bool | None = None
    neg_risk: bool | None = None
    neg_risk_market_id: str | None = msgspec.field(default=None, name="negRiskMarketID")
    neg_risk_request_id: str | None = msgspec.field(default=None, name="negRiskRequestID")
    events: list[GammaEvent] | None = None
    tags: list[GammaTag] | None = None
    fees_enabled: bool | None = None

    def token_ids(self) -> list[str]:
        """``clobTokenIds`` parsed: outcome token ids in outcome order."""
        return _string_list(self.clob_token_ids)

    def outcome_labels(self) -> list[str]:
        return _string_list(self.outcomes)

    def outcome_price_list(self) -> list[Decimal]:
        return [parse_decimal(p, "outcomePrices") for p in _string_list(self.outcome_prices)]


class GammaEvent(WireCamel, frozen=True, kw_only=True):
    id: str
    ticker: str | None = None
    slug: str
    title: str
    description: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    restricted: bool | None = None
    liquidity: Decimal | None = None
    volume: Decimal | None = None
    enable_order_book: bool | None = None
    neg_risk: bool | None = None
    neg_risk_market_id: str | None = msgspec.field(default=None, name="negRiskMarketID")
    markets: list[GammaMarket] | None = None
    tags: list[GammaTag] | None = None


MARKET_DECODER = decoder_for(GammaMarket)
MARKETS_DECODER = decoder_for(list[GammaMarket])
EVENT_DECODER = decoder_for(GammaEvent)
EVENTS_DECODER = decoder_for(list[GammaEvent])
