"""Market metadata for the market filters: the slug and tags of a market by its condition id.

Signals carry the condition id; the slug only when the source had it (chain logs never do) and tags
never. A config whose allow or deny list names slugs or tags gets them from here: one Gamma lookup
per market (TTL cache with in-flight de-duplication, so one signal fanning out to many configs, or
many signals of one market, cost one fetch). A failed lookup is remembered for a short while (so a
Gamma outage does not cost a timeout per signal) and answers None: the filters then skip the copy
rather than guess (see `domain.filters.check_filters`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from polyhunter.domain.copy_config import MarketRef
from polyhunter.engine.ttl_cache import TtlCache
from polyhunter.log import get_logger

log = get_logger(__name__)

META_TTL_MS = 600_000  # slugs and tags of a market practically never change
FAILURE_TTL_S = 5.0
MAX_WATCHED = 10_000


class MarketLookup(Protocol):
    async def __call__(self, condition_id: str) -> MarketRef | None:
        """The market's slug and tags; None if the venue does not know the market."""
        ...


class MarketDirectory:
    def __init__(
        self,
        lookup: MarketLookup,
        *,
        ttl_ms: int = META_TTL_MS,
        max_entries: int = 50_000,
        failure_ttl_s: float = FAILURE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.cache: TtlCache[str, MarketRef] = TtlCache(ttl_ms, max_entries, clock)
        self._failed: dict[str, float] = {}  # condition id -> when its last lookup failed
        self._failure_ttl_s = failure_ttl_s
        self._clock = clock
        self.failures = 0

    async def market(self, condition_id: str) -> MarketRef | None:
        """Slug and tags of the market, or None when they cannot be had (unknown market, lookup failed)."""
        key = condition_id.lower()
        failed_at = self._failed.get(key)
        if failed_at is not None:
            if self._clock() - failed_at < self._failure_ttl_s:
                return None
            del self._failed[key]

        async def load() -> MarketRef:
            found = await self._lookup(key)
            if found is None:  # not cached: a market Gamma does not list yet may appear soon
                raise LookupError("market unknown to the venue")
            return found

        try:
            return await self.cache.get(key, load)
        except Exception as exc:  # noqa: BLE001 - any failure: the filters decide what it means
            self.failures += 1
            self._failed[key] = self._clock()
            log.warning("market metadata unavailable", condition_id=key, error=str(exc))
            return None


class ClosedMarkets:
    """Markets known to take no more orders (closed or resolved): copies into them are SKIPPED
    `MARKET_CLOSED` at planning. Filled by the market lifecycle (engine/lifecycle.py) from the market
    channel, the venue's market records, and the venue's refusal of an order on a closed market
    (`note`, which also asks the lifecycle to look at the market: `on_note`)."""

    def __init__(self) -> None:
        self._closed: set[str] = set()
        self.on_note: Callable[[str], None] | None = None
        self.watched: dict[str, None] = {}  # tokens copied lately: the market channel follows them

    def watch(self, token_id: str) -> None:
        if token_id not in self.watched:
            self.watched[token_id] = None
            while len(self.watched) > MAX_WATCHED:
                del self.watched[next(iter(self.watched))]

    def __contains__(self, condition_id: object) -> bool:
        return isinstance(condition_id, str) and condition_id.lower() in self._closed

    def add(self, condition_id: str) -> None:
        self._closed.add(condition_id.lower())

    def note(self, condition_id: str) -> None:
        """The venue refused an order as the market takes none: closed, and worth a look."""
        self.add(condition_id)
        if self.on_note is not None:
            self.on_note(condition_id.lower())
