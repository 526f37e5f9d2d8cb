"""Filters that decide whether a config copies a signal at all (before any sizing)."""

from __future__ import annotations

from enum import StrEnum

from polyhunter.domain.copy_config import CopyConfig, MarketRef
from polyhunter.domain.signal import Signal


class FilterSkip(StrEnum):
    SIDE_FILTERED = "SIDE_FILTERED"
    MARKET_DENIED = "MARKET_DENIED"
    MARKET_NOT_ALLOWED = "MARKET_NOT_ALLOWED"
    PRICE_OUT_OF_BOUNDS = "PRICE_OUT_OF_BOUNDS"


def _matches(names: frozenset[str], market: MarketRef) -> bool:
    return (
        market.condition_id.lower() in names
        or (market.slug != "" and market.slug in names)
        or not names.isdisjoint(market.tags)
    )


def check_filters(config: CopyConfig, signal: Signal, market: MarketRef) -> FilterSkip | None:
    if signal.side not in config.sides:
        return FilterSkip.SIDE_FILTERED
    deny = frozenset(n.lower() if n.startswith("0x") else n for n in config.deny_markets)
    if deny and _matches(deny, market):
        return FilterSkip.MARKET_DENIED
    allow = frozenset(n.lower() if n.startswith("0x") else n for n in config.allow_markets)
    if allow and not _matches(allow, market):
        return FilterSkip.MARKET_NOT_ALLOWED
    if not (config.min_price <= signal.price <= config.max_price):
        return FilterSkip.PRICE_OUT_OF_BOUNDS
    return None
