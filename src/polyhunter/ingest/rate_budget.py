"""A token bucket that spreads a request budget (e.g. 800 per 10 s) over the polling loop."""

from __future__ import annotations

import asyncio
import time


class RequestBudget:
    def __init__(self, requests: int, per_seconds: float = 10.0) -> None:
        if requests < 1:
            raise ValueError("a budget needs at least one request")
        self._capacity = float(requests)
        self._rate = requests / per_seconds
        self._tokens = float(requests)
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def take(self) -> None:
        self._refill()
        while self._tokens < 1:
            await asyncio.sleep((1 - self._tokens) / self._rate)
            self._refill()
        self._tokens -= 1
