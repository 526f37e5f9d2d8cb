"""What the hostile-venue end-to-end test found, pinned at the unit level: JSON nested past msgspec's
recursion is a ``msgspec.DecodeError`` from every wire decoder; a price a hair above zero is refused; an
``/activity`` answer of more items than its page holds is refused before it is decoded item by item; an
HTTP answer over the client's body bound is refused (retryable), chunked or not."""

from __future__ import annotations

import resource
from collections.abc import AsyncIterator
from decimal import Decimal

import msgspec
import pytest
from aiohttp import web

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, RetryPolicy
from polyhunter.adapters.polymarket.wire_clob_ws import decode_market_frame
from polyhunter.adapters.polymarket.wire_data_api import decode_activity_page
from polyhunter.adapters.polymarket.wire_rtds import decode_activity_frame
from polyhunter.adapters.polymarket.wire_validation import WIRE_ERRORS, InvalidMessage, check_price
from tests.support.loopback_http import serve_app

DEEP_ARRAY = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("data", [DEEP_ARRAY, DEEP_OBJECT, b'{"payload":' + DEEP_ARRAY + b"}"])
def test_json_nested_too_deeply_is_a_decode_error(data: bytes) -> None:
    for decode in (decode_activity_frame, decode_activity_page, decode_market_frame):
        with pytest.raises(msgspec.DecodeError):
            decode(data)
    with pytest.raises(WIRE_ERRORS):
        decode_activity_frame(data)


@pytest.mark.parametrize("price", ["1e-999999", "0.0000001", "0.9999999", "1e-7"])
def test_a_price_within_a_micro_of_zero_or_one_is_refused(price: str) -> None:
    with pytest.raises(InvalidMessage, match="price_out_of_range"):
        check_price(Decimal(price))


@pytest.mark.parametrize("price", ["0.000001", "0.001", "0.5", "0.999", "0.999999"])
def test_a_price_of_the_venue_passes(price: str) -> None:
    assert check_price(Decimal(price)) == Decimal(price)


def test_a_page_of_millions_of_items_is_refused_before_it_is_decoded() -> None:
    body = b"[" + b"1," * (3 << 19) + b"1]"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(msgspec.DecodeError, match="more items than a page"):
        decode_activity_page(body, max_rows=500)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 20 * 1024  # kB
    with pytest.raises(msgspec.DecodeError, match="rows for a page of at most 3"):
        decode_activity_page(b"[1,2,3,4]", max_rows=3)
    assert decode_activity_page(b"[1,2,3]", max_rows=3).served == 3


@pytest.fixture
async def big_answers() -> AsyncIterator[str]:
    async def sized(_: web.Request) -> web.Response:
        return web.Response(body=b"[" + b" " * (2 << 20) + b"]", content_type="application/json")

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"[")
        for _ in range(64):
            await resp.write(b" " * (64 << 10))
        await resp.write(b"]")
        return resp

    app = web.Application()
    app.router.add_get("/sized", sized)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/activity", sized)
    async with serve_app(app) as url:
        yield url


@pytest.mark.parametrize("path", ["/sized", "/chunked"])
async def test_an_answer_over_the_body_bound_is_retryable(big_answers: str, path: str) -> None:
    async with HttpClient(big_answers, policy=RetryPolicy(max_retries=0), max_body_bytes=1 << 20) as http:
        with pytest.raises(RetryableError, match="over 1048576"):
            await http.request("GET", path)
    async with HttpClient(big_answers, policy=RetryPolicy(max_retries=0), max_body_bytes=8 << 20) as http:
        assert len(await http.request("GET", path)) > 1 << 20


async def test_the_data_api_refuses_an_activity_answer_over_its_bound(big_answers: str) -> None:
    client = DataApiClient(big_answers, policy=RetryPolicy(max_retries=0))
    client.http.max_body_bytes = 1 << 20
    try:
        with pytest.raises(RetryableError, match="over"):
            await client.activity("0x" + "ab" * 20)
    finally:
        await client.close()
