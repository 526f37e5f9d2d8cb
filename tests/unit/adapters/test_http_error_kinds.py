"""`HttpClient` raises the error kinds of domain/errors.py: 401/403 is a `VenueAuthError` (an
`OperatorNeededError`, `AUTH_REFUSED`, not retried), another 4xx a `VenueError` (not retried), 429 and
5xx are retried with bounded backoff and then a `RetryableError` (the domain's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy, VenueAuthError, VenueError
from polyhunter.domain import errors


class Answers:
    def __init__(self) -> None:
        self.status = 200
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.json_response({"error": f"status {self.status}"}, status=self.status)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Answers, HttpClient]]:
    answers = Answers()
    app = web.Application()
    app.router.add_get("/x", answers.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    client = HttpClient(f"http://127.0.0.1:{port}", policy=RetryPolicy(max_retries=2, base_delay_ms=1))
    try:
        yield answers, client
    finally:
        await client.close()
        await runner.cleanup()


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_operator_needed(
    server: tuple[Answers, HttpClient], status: int
) -> None:
    answers, client = server
    answers.status = status
    with pytest.raises(errors.OperatorNeededError) as refused:
        await client.request("GET", "/x")
    assert isinstance(refused.value, VenueAuthError)
    assert refused.value.reason == "AUTH_REFUSED"
    assert refused.value.detail == f"HTTP {status}: status {status}"
    assert answers.calls == 1


async def test_another_4xx_is_a_venue_error_not_retried(server: tuple[Answers, HttpClient]) -> None:
    answers, client = server
    answers.status = 400
    with pytest.raises(VenueError) as refused:
        await client.request("GET", "/x")
    assert not isinstance(refused.value, errors.RetryableError | errors.OperatorNeededError)
    assert answers.calls == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_429_and_5xx_are_retried_then_retryable(
    server: tuple[Answers, HttpClient], status: int
) -> None:
    answers, client = server
    answers.status = status
    with pytest.raises(errors.RetryableError):
        await client.request("GET", "/x")
    assert answers.calls == 3  # the first try and max_retries more, no more
