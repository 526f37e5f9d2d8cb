"""Filters that decide whether a config copies a signal at all (before any sizing).

Allow and deny lists name markets by condition id (``0x…``), slug or tag. Condition ids are matched
against the signal itself; slugs and tags need the market's metadata (`MarketRef`), which the engine
looks up only for configs whose lists name any (`needs_market_metadata`). Names match
case-insensitively.

When the metadata could not be had (`market=None`), nothing is guessed: a deny list naming slugs or
tags might have denied the market, and an allow list naming them might have allowed it, so such a
copy is skipped as MARKET_METADATA_UNAVAILABLE, unless the condition id alone already decides
(denied by id, or allowed by id with no slug/tag in the deny list).
"""

from __future__ import annotations

from enum import StrEnum

from polyhunter.domain.copy_config import CopyConfig, MarketRef
from polyhunter.domain.signal import Signal


class FilterSkip(StrEnum):
    SIDE_FILTERED = "SIDE_FILTERED"
    MARKET_DENIED = "MARKET_DENIED"
    MARKET_NOT_ALLOWED = "MARKET_NOT_ALLOWED"
    MARKET_METADATA_UNAVAILABLE = "MARKET_METADATA_UNAVAILABLE"
    PRICE_OUT_OF_BOUNDS = "PRICE_OUT_OF_BOUNDS"


def _is_condition_id(name: str) -> bool:
    return name.startswith(("0x", "0X"))


def _names_metadata(names: frozenset[str]) -> bool:
    return any(not _is_condition_id(n) for n in names)


def needs_market_metadata(config: CopyConfig) -> bool:
    """Whether the config's market lists name slugs or tags (so the filters need the market's metadata)."""
    return _names_metadata(config.allow_markets) or _names_metadata(config.deny_markets)


def _matches(names: frozenset[str], condition_id: str, market: MarketRef | None) -> bool:
    if condition_id.lower() in names:
        return True
    if market is None:
        return False
    return (market.slug != "" and market.slug.lower() in names) or not names.isdisjoint(
        t.lower() for t in market.tags
    )


def check_filters(config: CopyConfig, signal: Signal, market: MarketRef | None) -> FilterSkip | None:
    """`market` None: the market's slug and tags are unknown (see the module docstring)."""
    if signal.side not in config.sides:
        return FilterSkip.SIDE_FILTERED
    condition_id = market.condition_id if market is not None else signal.condition_id
    deny = frozenset(n.lower() for n in config.deny_markets)
    if deny and _matches(deny, condition_id, market):
        return FilterSkip.MARKET_DENIED
    if market is None and _names_metadata(deny):
        return FilterSkip.MARKET_METADATA_UNAVAILABLE
    allow = frozenset(n.lower() for n in config.allow_markets)
    if allow and not _matches(allow, condition_id, market):
        if market is None and _names_metadata(allow):
            return FilterSkip.MARKET_METADATA_UNAVAILABLE
        return FilterSkip.MARKET_NOT_ALLOWED
    if not (config.min_price <= signal.price <= config.max_price):
        return FilterSkip.PRICE_OUT_OF_BOUNDS
    return None
