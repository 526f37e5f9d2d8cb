"""Gamma API client: market metadata (slug, tags) by condition id.

Gamma serves tags on a market with ``include_tag=true``; where a market carries none (the nested
event objects never do), the tags of the market's events (``/events/{id}``) are used.
"""

from __future__ import annotations

import msgspec

from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, RetryPolicy, VenueError
from polyhunter.adapters.polymarket.wire_gamma import EVENT_DECODER, MARKETS_DECODER, GammaEvent, GammaMarket
from polyhunter.domain.copy_config import MarketRef


class GammaClient:
    def __init__(self, base_url: str, timeout_ms: int = 5_000, policy: RetryPolicy | None = None) -> None:
        self.http = HttpClient(base_url, timeout_ms, policy)

    async def close(self) -> None:
        await self.http.close()

    async def market_by_condition(self, condition_id: str) -> GammaMarket | None:
        """The market with this condition id, or None if Gamma does not know it."""
        params = {"condition_ids": condition_id, "include_tag": "true", "limit": 1}
        body = await self.http.request("GET", "/markets", params=params)
        try:
            markets = MARKETS_DECODER.decode(body)
        except msgspec.DecodeError as exc:
            raise RetryableError(f"GET /markets: malformed answer: {exc}") from exc
        wanted = condition_id.lower()
        for market in markets:
            if (market.condition_id or "").lower() == wanted:
                return market
        return None

    async def event(self, event_id: str) -> GammaEvent | None:
        try:
            body = await self.http.request("GET", f"/events/{event_id}")
        except VenueError as exc:
            if exc.status == 404:
                return None
            raise
        try:
            return EVENT_DECODER.decode(body)
        except msgspec.DecodeError as exc:
            raise RetryableError(f"GET /events/{event_id}: malformed answer: {exc}") from exc

    async def market_tags(self, market: GammaMarket) -> frozenset[str]:
        """The market's tags (labels and slugs, lower-case); its events' tags if it carries none."""
        tags = list(market.tags or ())
        if not tags:
            for nested in market.events or ():
                event = await self.event(nested.id)
                if event is not None:
                    tags.extend(event.tags or ())
        return frozenset(name.lower() for tag in tags for name in (tag.label, tag.slug) if name)

    async def market_ref(self, condition_id: str) -> MarketRef | None:
        """What the market filters match on (the engine's `MarketLookup`); None for an unknown market."""
        market = await self.market_by_condition(condition_id)
        if market is None:
            return None
        return MarketRef(condition_id, market.slug or "", await self.market_tags(market))
