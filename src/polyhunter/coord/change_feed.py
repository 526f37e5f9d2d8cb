"""The config change feed: a Redis pub/sub channel `<prefix>:changes` that wakes every process's live
sync (runtime/live_sync.py) at once when the service layer changed something.

The database's change counter stays the record: every service-layer write bumps it in its own
transaction, then (after the commit) publishes one message here. A process's live sync reads the
counter as soon as a message arrives, and still every `api.sync_interval_ms` without one (pub/sub is
lossy: a subscriber away while a message was published never gets it). A subscriber that
(re)subscribes wakes the live sync once too, for what it may have missed while away. Publishing is best
effort: a Redis that cannot be reached costs the change its wake-up, never the write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from polyhunter.log import get_logger

log = get_logger(__name__)

PUBLISH_TIMEOUT_S = 2.0
BACKOFF_S = (0.2, 5.0)


def changes_channel(key_prefix: str) -> str:
    """`key_prefix`: the coordinator's (coord.key_prefix and the deployment id, coord/factory.py)."""
    return f"{key_prefix}:changes"


class ChangeFeed:
    def __init__(self, redis_url: str, channel: str) -> None:
        self._redis = Redis.from_url(redis_url, socket_connect_timeout=5)
        self.channel = channel
        self.published = 0
        self.received = 0
        self.subscribed = asyncio.Event()  # set while subscribed (tests wait for it)

    async def publish(self) -> None:
        """Tell every subscriber that something changed (best effort)."""
        try:
            await asyncio.wait_for(self._redis.publish(self.channel, b"1"), PUBLISH_TIMEOUT_S)
            self.published += 1
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("change not published; the others see it at their next poll", error=repr(exc))

    async def listen(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` for every message, and on every (re)subscription; until cancelled."""
        delay = BACKOFF_S[0]
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                on_change()  # what was published while we were not subscribed
                delay = BACKOFF_S[0]
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.received += 1
                        on_change()
            except (RedisError, OSError) as exc:
                log.warning("change feed lost; polling until it is back", error=repr(exc))
            finally:
                self.subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(BACKOFF_S[1], delay * 2)

    async def close(self) -> None:
        await self._redis.aclose()
