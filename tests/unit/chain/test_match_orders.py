"""matchOrders calldata: encoding round trip, the amounts the exchange computes, and what is refused."""

from __future__ import annotations

import pytest

from polyhunter.adapters.chain.abi import decode, encode
from polyhunter.adapters.chain.match_orders import (
    MATCH_ORDERS_SELECTOR,
    MATCH_ORDERS_V2_SELECTOR,
    MAX_MAKER_ORDERS,
    CalldataError,
    Order,
    decode_match_orders,
    encode_match_orders,
)
from polyhunter.domain.signal import Side

LEADER = "0x" + "1e" * 20
MAKER = "0x" + "a1" * 20
TOKEN = 7_777


def _order(maker: str, side: Side, making: int, taking: int, token: int = TOKEN, salt: int = 1) -> Order:
    return Order(
        salt=salt,
        maker=maker,
        signer=maker,
        token_id=token,
        maker_amount=making,
        taker_amount=taking,
        side=side,
    )


def test_selector_is_the_exchanges() -> None:
    assert MATCH_ORDERS_SELECTOR.hex() == "e60f0c05"  # CTF exchange matchOrders on Polygon


def test_dynamic_bytes_round_trip() -> None:
    for blob in (b"", b"\x01", b"x" * 32, b"y" * 65):
        assert decode(["bytes", "uint256"], encode(["bytes", "uint256"], [blob, 5])) == (blob, 5)


def test_complementary_match_amounts() -> None:
    # leader BUYs 10 shares at 0.6 as taker from a maker SELLing 10 @ 0.55 (price improvement: surplus)
    taker = _order(LEADER, Side.BUY, 6_000_000, 10_000_000)
    maker = _order(MAKER, Side.SELL, 10_000_000, 5_500_000, salt=2)
    fills = decode_match_orders(encode_match_orders(taker, [maker], 5_500_000, [10_000_000]))
    assert [(f.maker, f.side, f.shares_micro, f.usdc_micro, f.taker_leg) for f in fills] == [
        (MAKER, Side.SELL, 10_000_000, 5_500_000, False),
        # the taker's computed taking is 5.5 * 10/6 = 9.1666 shares; what the maker left is 10: the surplus
        (LEADER, Side.BUY, 10_000_000, 5_500_000, True),
    ]


def test_mint_and_merge_makers() -> None:
    taker = _order(LEADER, Side.BUY, 3_000_000, 5_000_000)
    mint = _order(MAKER, Side.BUY, 2_000_000, 5_000_000, token=TOKEN + 1)
    fills = decode_match_orders(encode_match_orders(taker, [mint], 3_000_000, [2_000_000]))
    assert fills[-1].shares_micro == 5_000_000  # the sets minted
    seller = _order(LEADER, Side.SELL, 5_000_000, 3_000_000)
    merge = _order(MAKER, Side.SELL, 5_000_000, 2_000_000, token=TOKEN + 1)
    fills = decode_match_orders(encode_match_orders(seller, [merge], 5_000_000, [5_000_000]))
    assert fills[-1].usdc_micro == 3_000_000  # 5 USDC merged, 2 paid to the maker


@pytest.mark.parametrize(
    "calldata",
    [
        "0x",
        "0xdeadbeef",
        "0x" + MATCH_ORDERS_SELECTOR.hex(),  # no arguments
        "0x" + MATCH_ORDERS_SELECTOR.hex() + "00" * 31,  # truncated
        "0x" + MATCH_ORDERS_SELECTOR.hex() + "ff" * 4096,  # offsets pointing nowhere
        "not hex at all",
    ],
)
def test_malformed_calldata_is_refused(calldata: str) -> None:
    with pytest.raises(CalldataError):
        decode_match_orders(calldata)


def test_impossible_amounts_and_shapes_are_refused() -> None:
    taker = _order(LEADER, Side.BUY, 6_000_000, 10_000_000)
    maker = _order(MAKER, Side.SELL, 10_000_000, 5_500_000)
    with pytest.raises(CalldataError, match="fill amounts"):
        decode_match_orders(encode_match_orders(taker, [maker], 5_500_000, [1, 2]))
    with pytest.raises(CalldataError, match="maker orders"):
        decode_match_orders(encode_match_orders(taker, [], 5_500_000, []))
    free = _order(MAKER, Side.SELL, 10_000_000, 0)  # a price of 0
    with pytest.raises(CalldataError):
        decode_match_orders(encode_match_orders(taker, [free], 5_500_000, [10_000_000]))
    zero = _order(MAKER, Side.SELL, 0, 5_500_000)
    with pytest.raises(CalldataError):
        decode_match_orders(encode_match_orders(taker, [zero], 5_500_000, [10_000_000]))
    many = [maker] * (MAX_MAKER_ORDERS + 1)
    with pytest.raises(CalldataError, match="maker orders"):
        decode_match_orders(encode_match_orders(taker, many, 5_500_000, [1_000] * len(many)))


def test_huge_calldata_is_refused_unread() -> None:
    taker = _order(LEADER, Side.BUY, 6_000_000, 10_000_000)
    huge_signature = Order(
        salt=1,
        maker=MAKER,
        signer=MAKER,
        token_id=TOKEN,
        maker_amount=10_000_000,
        taker_amount=5_500_000,
        side=Side.SELL,
        signature=b"\x01" * (300 * 1024),
    )
    with pytest.raises(CalldataError, match="bytes of call data"):
        decode_match_orders(encode_match_orders(taker, [huge_signature], 5_500_000, [10_000_000]))


def test_v2_calldata_with_fees_gives_the_same_fills() -> None:
    taker = _order(LEADER, Side.BUY, 6_000_000, 10_000_000)
    makers = [_order(MAKER, Side.SELL, 5_000_000, 2_750_000, salt=s) for s in (2, 3)]
    v1 = encode_match_orders(taker, makers, 5_500_000, [5_000_000, 5_000_000])
    v2 = encode_match_orders(
        taker, makers, 5_500_000, [5_000_000, 5_000_000], version=2, taker_fee=1_000, maker_fees=[0, 7]
    )
    assert v2[:4] == MATCH_ORDERS_V2_SELECTOR != v1[:4]
    assert decode_match_orders(v2) == decode_match_orders(v1)
    with pytest.raises(CalldataError):
        decode_match_orders(v2[:-32])  # one fee word short
