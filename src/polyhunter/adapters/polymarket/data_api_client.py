"""Data API v1 client: /activity, /trades, /positions (public, no auth).

``/positions`` answers at most 500 rows a request: `positions` reads page after page (``limit`` /
``offset``) until a short page, at most ``positions_max_pages`` pages (the venue refuses an offset
past 10,000), so a leader holding more than 500 positions is read in full.
"""

from __future__ import annotations

from typing import Any

import msgspec

from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, RetryPolicy
from polyhunter.adapters.polymarket.wire_data_api import (
    DataActivity,
    DataPosition,
    DataTrade,
    decode_activity_page,
    decode_positions,
    decode_trades,
)
from polyhunter.log import get_logger

log = get_logger(__name__)

ACTIVITY_MAX_LIMIT = 500
ACTIVITY_MAX_OFFSET = 5000
# A page of 500 rows is about half a megabyte (rows are ~1 KB): a larger answer is not a page, and decoding
# it row by row would hold one object per item (millions for a hostile `[1,1,1,...]`).
MAX_BODY_BYTES = 4 << 20
POSITIONS_MAX_LIMIT = 500
POSITIONS_MAX_PAGES = 21  # offsets 0 .. 10,000: as far as the venue pages


class DataApiClient:
    def __init__(
        self,
        base_url: str,
        timeout_ms: int = 5_000,
        policy: RetryPolicy | None = None,
        *,
        positions_max_pages: int = POSITIONS_MAX_PAGES,
    ) -> None:
        self.http = HttpClient(base_url, timeout_ms, policy, max_body_bytes=MAX_BODY_BYTES)
        self.positions_max_pages = positions_max_pages

    async def close(self) -> None:
        await self.http.close()

    async def activity(
        self,
        user: str,
        *,
        types: str = "TRADE",
        start: int | None = None,
        end: int | None = None,
        limit: int = ACTIVITY_MAX_LIMIT,
        offset: int = 0,
        ascending: bool = True,
    ) -> list[DataActivity]:
        params: dict[str, Any] = {
            "user": user,
            "type": types,
            "limit": min(limit, ACTIVITY_MAX_LIMIT),
            "offset": offset,
            "sortBy": "TIMESTAMP",
            "sortDirection": "ASC" if ascending else "DESC",
        }
        if start is not None:
            params["start"] = start
        if end is not None:
            params["end"] = end
        body = await self.http.request("GET", "/activity", params=params)
        try:  # row by row: a row that is not an activity row is set aside on the page, not fatal
            return decode_activity_page(body, max_rows=params["limit"])
        except msgspec.DecodeError as exc:  # a garbled or cut-off 200 (proxy page, truncated body)
            raise RetryableError(f"GET /activity: malformed answer: {exc}") from exc

    async def trades(
        self, user: str | None = None, *, limit: int = 100, offset: int = 0, taker_only: bool = True
    ) -> list[DataTrade]:
        params: dict[str, Any] = {"limit": limit, "offset": offset, "takerOnly": str(taker_only).lower()}
        if user:
            params["user"] = user
        return decode_trades(await self.http.request("GET", "/trades", params=params))

    async def positions(
        self, user: str, *, size_threshold: str = "0", limit: int = POSITIONS_MAX_LIMIT
    ) -> list[DataPosition]:
        """Every open position of `user`: pages of `limit` rows until a short one (or the page bound,
        logged). A position seen on two pages (the order moved while paging) is kept once."""
        limit = max(1, min(limit, POSITIONS_MAX_LIMIT))
        seen: dict[str, DataPosition] = {}
        for page in range(self.positions_max_pages):
            params = {"user": user, "sizeThreshold": size_threshold, "limit": limit, "offset": page * limit}
            rows = decode_positions(await self.http.request("GET", "/positions", params=params))
            for row in rows:
                seen.setdefault(row.asset, row)
            if len(rows) < limit:
                return list(seen.values())
        log.warning(
            "positions cut at the page bound", user=user, pages=self.positions_max_pages, rows=len(seen)
        )
        return list(seen.values())
