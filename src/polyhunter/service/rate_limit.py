"""Sign-in rate limits: at most `limit` attempts per `window_s` per key (a username, a client address).
In memory, per process: enough to slow down guessing against one server."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 100_000  # keys remembered at most (oldest dropped): a flood of names cannot grow memory


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """0 if an attempt for `key` may go ahead now (and counts it), else seconds to wait."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(0.001, hits[0] + self.window_s - now)
        hits.append(now)
        return 0.0
