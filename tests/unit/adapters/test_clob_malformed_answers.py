"""A CLOB answer that is not what the venue sends is a ``RetryableError`` (outcome unknown: the caller
reconciles), never a decode or decimal exception out of the trading client."""

from __future__ import annotations

import pytest

from polyhunter.adapters.polymarket.http import RetryableError
from tests.support.canned_clob import answering_client

OPEN_ORDER = (
    b'{"id":"0xab","status":"LIVE","owner":"o","maker_address":"0x1","market":"0xcd","asset_id":"1",'
    b'"side":"BUY","original_size":"10","size_matched":"%s","price":"0.5","outcome":"Yes",'
    b'"expiration":"0","order_type":"GTC","associate_trades":null,"created_at":1}'
)


client = answering_client  # each request answered with the body


@pytest.mark.parametrize("size_matched", [b"NaN", b"abc", b"-1", b"Infinity"])
async def test_an_order_record_with_bad_amounts_is_retryable(size_matched: bytes) -> None:
    with pytest.raises(RetryableError, match="malformed"):
        await client(OPEN_ORDER % size_matched).get_order("0xab")


@pytest.mark.parametrize(
    "body", [b"<html>", b"[]", b'{"balance":"NaN"}', b'{"balance":"1","allowances":{"0x":"x"}}']
)
async def test_a_bad_balance_answer_is_retryable(body: bytes) -> None:
    with pytest.raises(RetryableError, match="malformed"):
        await client(body).balance_allowance("COLLATERAL")


async def test_a_garbled_trades_page_is_retryable() -> None:
    with pytest.raises(RetryableError, match="malformed"):
        await client(b'{"data":[{"id":1}]}').trades()


async def test_a_well_formed_order_record_is_returned() -> None:
    order = await client(OPEN_ORDER % b"2.5").get_order("0xab")
    assert order is not None
    assert order.size_matched == "2.5"
    balance = await client(b'{"balance":"1000000","allowances":{"0xabc":"5"}}').balance_allowance(
        "COLLATERAL"
    )
    assert balance.balance == "1000000"
