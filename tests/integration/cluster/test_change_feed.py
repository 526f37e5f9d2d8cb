"""The config change feed on the real Redis (a channel of the test's own): a publish wakes every
subscriber at once; a Redis that cannot be reached costs the publish nothing but its wake-up."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from polyhunter.coord.change_feed import ChangeFeed, changes_channel

pytestmark = pytest.mark.integration

URL = "redis://127.0.0.1:6379/0"


async def test_a_publish_wakes_every_subscriber_within_milliseconds() -> None:
    channel = changes_channel(f"phtest-feed-{uuid.uuid4().hex[:8]}")
    writer, readers = ChangeFeed(URL, channel), [ChangeFeed(URL, channel) for _ in range(2)]
    woken: list[list[float]] = [[], []]
    tasks = [
        asyncio.create_task(r.listen(lambda i=i: woken[i].append(time.monotonic())))  # type: ignore[misc]
        for i, r in enumerate(readers)
    ]
    try:
        for r in readers:
            await asyncio.wait_for(r.subscribed.wait(), 10)
        assert [len(w) for w in woken] == [1, 1]  # subscribing wakes once: what was missed meanwhile
        delays = []
        for _ in range(5):
            sent = time.monotonic()
            await writer.publish()
            deadline = sent + 5
            while not all(w[-1] >= sent for w in woken):
                assert time.monotonic() < deadline, "a subscriber was not woken"
                await asyncio.sleep(0.001)
            delays.append(max(w[-1] for w in woken) - sent)
        assert writer.published == 5
        assert [r.received for r in readers] == [5, 5]
        print(f"\nchange feed: publish -> every subscriber woken in {max(delays) * 1000:.1f} ms at most")  # noqa: T201
        assert max(delays) < 1.0
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for feed in (writer, *readers):
            await feed.close()


async def test_a_publish_to_an_unreachable_redis_is_logged_not_raised() -> None:
    feed = ChangeFeed("redis://127.0.0.1:1/0", "nowhere:changes")
    try:
        await feed.publish()
        assert feed.published == 0
    finally:
        await feed.close()
