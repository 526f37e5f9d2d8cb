"""OrderFilled decoding, V1 and V2, buy and sell, maker and taker legs (protocol reference §5)."""

from __future__ import annotations

import pytest

from polyhunter.adapters.chain.exchange_events import (
    ORDER_FILLED_V1_TOPIC,
    ORDER_FILLED_V2_TOPIC,
    ORDERS_MATCHED_V1_TOPIC,
    ORDERS_MATCHED_V2_TOPIC,
    LogDecodeError,
    decode_order_filled,
    signature_topics,
)
from polyhunter.domain.signal import Side
from tests.support.exchange_logs import EXCHANGE, LEADER, OTHER, TOKEN, TX, v1_log, v2_log


def test_topic_constants_are_the_keccak_of_the_event_signatures() -> None:
    computed = signature_topics()
    assert sorted(computed.values()) == sorted(
        [ORDER_FILLED_V1_TOPIC, ORDERS_MATCHED_V1_TOPIC, ORDER_FILLED_V2_TOPIC, ORDERS_MATCHED_V2_TOPIC]
    )
    assert ORDER_FILLED_V2_TOPIC == "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"


def test_v2_maker_buy() -> None:
    fill = decode_order_filled(v2_log(LEADER, OTHER, side=0, making=2_650_000, taking=5_000_000, fee=7))
    assert (fill.version, fill.side, fill.token_id) == (2, Side.BUY, TOKEN)
    assert (fill.shares_micro, fill.usdc_micro, fill.fee) == (5_000_000, 2_650_000, 7)
    assert (fill.maker, fill.taker, fill.exchange) == (LEADER, OTHER, EXCHANGE)
    assert fill.tx_hash == TX
    assert (fill.block_number, fill.log_index, fill.removed) == (16, 3, False)
    assert not fill.is_taker_leg


def test_v2_maker_sell() -> None:
    fill = decode_order_filled(v2_log(LEADER, OTHER, side=1, making=5_000_000, taking=2_650_000))
    assert (fill.side, fill.shares_micro, fill.usdc_micro) == (Side.SELL, 5_000_000, 2_650_000)


def test_v2_taker_leg_has_the_exchange_as_taker() -> None:
    fill = decode_order_filled(v2_log(LEADER, EXCHANGE, side=0, making=980_000, taking=2_000_000))
    assert fill.is_taker_leg
    assert (fill.maker, fill.side, fill.shares_micro) == (LEADER, Side.BUY, 2_000_000)


def test_v1_buy_and_sell_from_asset_ids() -> None:
    buy = decode_order_filled(v1_log(LEADER, OTHER, 0, TOKEN, making=300_000, taking=1_000_000))
    assert (buy.version, buy.side, buy.token_id, buy.shares_micro, buy.usdc_micro) == (
        1,
        Side.BUY,
        TOKEN,
        1_000_000,
        300_000,
    )
    sell = decode_order_filled(v1_log(LEADER, EXCHANGE, TOKEN, 0, making=1_000_000, taking=300_000))
    assert (sell.side, sell.token_id, sell.shares_micro, sell.usdc_micro) == (
        Side.SELL,
        TOKEN,
        1_000_000,
        300_000,
    )
    assert sell.is_taker_leg


def test_removed_flag_is_kept() -> None:
    assert decode_order_filled(v2_log(LEADER, OTHER, 0, 1, 2, removed=True)).removed


@pytest.mark.parametrize(
    "log",
    [
        v2_log(LEADER, OTHER, side=2, making=1, taking=1),  # unknown side
        v1_log(LEADER, OTHER, 0, 0, making=1, taking=1),  # no token side
        v1_log(LEADER, OTHER, TOKEN, TOKEN, making=1, taking=1),  # no collateral side
        {**v2_log(LEADER, OTHER, 0, 1, 1), "data": "0x" + "00" * 32 * 5},  # V1-sized data under V2 topic
        {**v2_log(LEADER, OTHER, 0, 1, 1), "topics": [ORDER_FILLED_V2_TOPIC, "0x" + "00" * 32]},
        {
            **v2_log(LEADER, OTHER, 0, 1, 1),
            "topics": [ORDERS_MATCHED_V2_TOPIC, "0x" + "00" * 32, "0x" + "00" * 32, "0x" + "00" * 32],
        },
        {**v2_log(LEADER, OTHER, 0, 1, 1), "data": "0xzz"},
    ],
)
def test_malformed_logs_raise(log: dict[str, object]) -> None:
    with pytest.raises(LogDecodeError):
        decode_order_filled(log)
