"""The poller over the real Data API client against a local server that answers badly for some leaders:
a garbled 200 body or a 400 fails that leader (retried next round), a TRADE row without a side is
skipped; the other leaders' fills still arrive, and the poller keeps running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import RetryableError, RetryPolicy
from polyhunter.ingest.cursors import Cursor, MemoryCursorStore
from polyhunter.ingest.data_api_poll import SOURCE
from tests.support.loopback_http import serve_app
from tests.support.poller_fakes import NOW, Recorder, loopback_poller

GOOD = "0x" + "11" * 20
GARBLED = "0x" + "22" * 20
NO_SIDE = "0x" + "33" * 20
REJECTED = "0x" + "44" * 20


def activity_row(user: str, side: str, n: int) -> dict[str, object]:
    return {
        "proxyWallet": user,
        "timestamp": NOW - 5,
        "conditionId": "0x" + "cd" * 32,
        "type": "TRADE",
        "size": 12.5,
        "usdcSize": 6.25,
        "transactionHash": f"0x{n:064x}",
        "price": 0.5,
        "asset": "777",
        "side": side,
        "outcomeIndex": 0,
    }


class Answers:
    def __init__(self) -> None:
        self.fixed = False

    async def activity(self, request: web.Request) -> web.Response:
        user = request.query["user"]
        if user == GOOD or self.fixed:
            return web.json_response([activity_row(user, "BUY", int(user[2:4], 16))])
        if user == GARBLED:
            return web.Response(status=200, text="<html>upstream hiccup</html>")
        if user == NO_SIDE:
            return web.json_response([activity_row(user, "", 9)])
        return web.json_response({"error": "bad user"}, status=400)


@pytest.fixture
async def answers() -> AsyncIterator[tuple[Answers, str]]:
    ans = Answers()
    app = web.Application()
    app.router.add_get("/activity", ans.activity)
    async with serve_app(app) as url:
        yield ans, url


async def test_garbled_answer_is_a_retryable_error(answers: tuple[Answers, str]) -> None:
    _, url = answers
    client = DataApiClient(url, 2_000, RetryPolicy(max_retries=1, base_delay_ms=1))
    try:
        with pytest.raises(RetryableError, match="malformed"):
            await client.activity(GARBLED, start=NOW - 10)
    finally:
        await client.close()


async def test_bad_answers_fail_only_their_leader(answers: tuple[Answers, str]) -> None:
    ans, url = answers
    client = DataApiClient(url, 2_000, RetryPolicy(max_retries=0))
    store, rec = MemoryCursorStore(), Recorder()
    leaders = [GOOD, GARBLED, NO_SIDE, REJECTED]
    for leader in leaders:
        await store.save(Cursor(leader, SOURCE, NOW - 10))
    poller = loopback_poller(client, leaders, store, NOW)
    task = asyncio.create_task(poller.run(rec))
    try:
        for _ in range(250):
            if poller.errors >= 4:
                break
            await asyncio.sleep(0.02)
        assert not task.done()
        assert {s.leader for s in rec.signals} == {GOOD}
        assert not poller.healthy
        assert poller.skipped_rows >= 1
        ans.fixed = True  # the venue recovers: the failed leaders' fills arrive on the next rounds
        # health is set when a round ends, a moment after its last fill was handed on: wait for both
        for _ in range(250):
            if len(rec.signals) >= 4 and poller.healthy:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
    assert sorted(s.leader for s in rec.signals) == sorted(leaders)
    assert poller.healthy
