"""The trading client reads the CLOB's order answers as tolerantly as the official client does (a number
where a string is expected, a field it never reads left out) and as strictly where money depends on it
(amounts and prices present and valid)."""

from __future__ import annotations

import json
from typing import Any, cast

import msgspec
import pytest

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient, decode_post_order_response
from polyhunter.adapters.polymarket.http import HttpClient, RetryableError
from polyhunter.adapters.polymarket.wire_validation import InvalidMessage
from tests.support.canned_clob import Answer, answering_client


def client(body: Any) -> ClobTradingClient:
    return answering_client(json.dumps(body).encode())


TRADE: dict[str, Any] = {
    "id": "t1",
    "taker_order_id": "0xab",
    "market": "0xcd",
    "asset_id": "1",
    "side": "BUY",
    "size": "10",
    "fee_rate_bps": "0",
    "price": "0.5",
    "status": "MATCHED",
    "match_time": "1700000000",
    "last_update": "1700000000",
    "outcome": "Yes",
    "bucket_index": 0,
    "owner": "o",
    "maker_address": "0x1",
    "transaction_hash": "0xff",
    "maker_orders": [
        {
            "order_id": "0xee",
            "owner": "o2",
            "maker_address": "0x2",
            "matched_amount": "10",
            "price": "0.5",
            "fee_rate_bps": "0",
            "asset_id": "1",
            "outcome": "Yes",
        }
    ],
    "trader_side": "TAKER",
}


def _page(*trades: dict[str, Any]) -> dict[str, Any]:
    return {"data": list(trades), "next_cursor": "LTE=", "limit": 100, "count": len(trades)}


async def test_a_trade_without_fee_rate_and_with_numbers_for_strings_is_read() -> None:
    trade = {k: v for k, v in TRADE.items() if k != "fee_rate_bps"}
    trade |= {"size": 10, "price": 0.55, "match_time": 1700000000}
    trade["maker_orders"] = [
        {k: v for k, v in TRADE["maker_orders"][0].items() if k != "fee_rate_bps"} | {"matched_amount": 2.125}
    ]
    page = await client(_page(trade)).trades()
    (read,) = page.data
    assert (read.size, read.price, read.fee_rate_bps, read.match_time) == ("10", "0.55", "0", "1700000000")
    assert read.maker_orders[0].matched_amount == "2.125"  # the number's own digits, no float detour
    assert read.maker_orders[0].fee_rate_bps == "0"


async def test_a_trades_page_without_a_cursor_is_the_last_page() -> None:
    page = await client({"data": [TRADE]}).trades()
    assert page.next_cursor == "LTE="
    assert len(page.data) == 1


@pytest.mark.parametrize(
    "change", [{"size": "NaN"}, {"price": -1}, {"size": None}, {"price": "abc"}], ids=str
)
async def test_a_trade_with_a_bad_amount_is_still_refused(change: dict[str, Any]) -> None:
    with pytest.raises(RetryableError, match="malformed"):
        await client(_page(TRADE | change)).trades()


async def test_a_trade_missing_its_size_is_still_refused() -> None:
    trade = {k: v for k, v in TRADE.items() if k != "size"}
    with pytest.raises(RetryableError, match="malformed"):
        await client(_page(trade)).trades()


async def test_an_order_record_with_numbers_and_without_unread_fields_is_read() -> None:
    body = {
        "id": "0xab",
        "status": "MATCHED",
        "asset_id": "1",
        "side": "BUY",
        "original_size": 10,
        "size_matched": 2.5,
        "price": 0.5,
        "created_at": "1700000000",
    }
    order = await client(body).get_order("0xab")
    assert order is not None
    assert (order.size_matched, order.price, order.original_size) == ("2.5", "0.5", "10")
    assert order.created_at == 1700000000


async def test_an_order_record_missing_its_matched_size_is_refused() -> None:
    body = {
        "id": "0xab",
        "status": "MATCHED",
        "asset_id": "1",
        "side": "BUY",
        "original_size": "10",
        "price": "0.5",
    }
    with pytest.raises(RetryableError, match="malformed"):
        await client(body).get_order("0xab")


async def test_a_balance_as_numbers_is_read() -> None:
    ba = await client({"balance": 1000000, "allowances": {"0xabc": 5}}).balance_allowance("COLLATERAL")
    assert (ba.balance, ba.allowances) == ("1000000", {"0xabc": "5"})


def test_a_post_order_answer_without_error_msg_and_with_number_amounts_is_read() -> None:
    body = {"orderID": "0xab", "takingAmount": 4, "makingAmount": 2.65, "status": "matched", "success": True}
    resp = decode_post_order_response(json.dumps(body).encode())
    assert (resp.error_msg, resp.taking_amount, resp.making_amount) == ("", "4", "2.65")


@pytest.mark.parametrize("missing", ["takingAmount", "makingAmount", "status", "success"])
def test_a_post_order_answer_missing_what_the_fill_is_read_from_is_refused(missing: str) -> None:
    body = {"errorMsg": "", "orderID": "0xab", "takingAmount": "4", "makingAmount": "2", "status": "matched",
            "success": True}  # fmt: skip
    del body[missing]
    with pytest.raises((msgspec.DecodeError, InvalidMessage)):
        decode_post_order_response(json.dumps(body).encode())


async def test_a_deeply_nested_answer_is_malformed_not_a_recursion_error() -> None:
    body = b'{"balance":1,"allowances":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    answer = client({})
    answer.http = cast(HttpClient, Answer(body))
    with pytest.raises(RetryableError, match="malformed"):
        await answer.balance_allowance("COLLATERAL")
