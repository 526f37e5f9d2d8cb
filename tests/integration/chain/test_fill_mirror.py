"""FillMirror on anvil: exact exchange topics, emission order of a match, operator-only."""

from __future__ import annotations

import random

import pytest
from eth_abi.abi import decode as eth_decode

from polyhunter.adapters.chain.abi import address_topic
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError
from polyhunter.domain.signal import Side
from polyhunter.sim.chain_mirror import ChainMirror, MirrorError, MirrorLeg, MirrorMatch, encode_match
from tests.support.chain_matches import TOKENS, address, order_hash

pytestmark = pytest.mark.integration

# copied from polymarket-protocol.md §5, on purpose not imported from the code under test
V1_ORDER_FILLED = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"
V1_ORDERS_MATCHED = "0x63bf4d16b7fa898ef4c4b2b6d90fd201e9c56313b65638af6088d149d2ce956c"
V2_ORDER_FILLED = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
V2_ORDERS_MATCHED = "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c"


def _match() -> MirrorMatch:
    rng = random.Random(5)
    taker = address(rng)
    legs = [
        MirrorLeg(order_hash(rng), address(rng), Side.SELL, TOKENS[0], 2_000_000, 1_100_000, 0),
        MirrorLeg(order_hash(rng), address(rng), Side.SELL, TOKENS[0], 3_000_000, 1_680_000, 0),
    ]
    return MirrorMatch(
        order_hash(rng), taker, Side.BUY, TOKENS[0], 2_780_000, 5_000_000, legs, taker_fee=12_345
    )


async def _logs_of(rpc: JsonRpcClient, tx: str) -> list[dict[str, object]]:
    receipt = await rpc.wait_for_receipt(tx)
    assert receipt["status"] == "0x1"
    return list(receipt["logs"])


async def test_v2_match_emits_exchange_layout_in_exchange_order(
    rpc: JsonRpcClient, mirror: ChainMirror
) -> None:
    match = _match()
    logs = await _logs_of(rpc, await mirror.emit_match(match))
    assert [log["topics"][0] for log in logs] == [V2_ORDER_FILLED] * 3 + [V2_ORDERS_MATCHED]  # type: ignore[index]
    assert {log["address"] for log in logs} == {mirror.address}
    words = ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"]
    for log, leg in zip(logs[:2], match.maker_legs, strict=True):
        topics = log["topics"]
        assert topics == [
            V2_ORDER_FILLED,
            leg.order_hash,
            address_topic(leg.maker),
            address_topic(match.taker),
        ]
        side, token, making, taking, fee, builder, metadata = eth_decode(
            words, bytes.fromhex(str(log["data"])[2:])
        )
        assert (side, token, making, taking, fee) == (
            1,
            int(TOKENS[0]),
            leg.maker_amount_filled,
            leg.taker_amount_filled,
            0,
        )
        assert builder == metadata == b"\0" * 32
    taker_leg = logs[2]
    assert taker_leg["topics"] == [
        V2_ORDER_FILLED,
        match.taker_order_hash,
        address_topic(match.taker),
        address_topic(mirror.address),  # taker = the exchange stand-in
    ]
    assert eth_decode(words, bytes.fromhex(str(taker_leg["data"])[2:]))[:5] == (
        0,
        int(TOKENS[0]),
        2_780_000,
        5_000_000,
        12_345,
    )
    matched = logs[3]
    assert matched["topics"] == [V2_ORDERS_MATCHED, match.taker_order_hash, address_topic(match.taker)]
    assert eth_decode(
        ["uint8", "uint256", "uint256", "uint256"], bytes.fromhex(str(matched["data"])[2:])
    ) == (
        0,
        int(TOKENS[0]),
        2_780_000,
        5_000_000,
    )


async def test_v1_match_emits_v1_layout(anvil_url: str, rpc: JsonRpcClient) -> None:
    mirror = ChainMirror(anvil_url, layout=1, shape="legs")
    await mirror.start()
    try:
        match = _match()
        logs = await _logs_of(rpc, await mirror.emit_match(match))
    finally:
        await mirror.close()
    assert [log["topics"][0] for log in logs] == [V1_ORDER_FILLED] * 3 + [V1_ORDERS_MATCHED]  # type: ignore[index]
    words = ["uint256"] * 5
    maker = eth_decode(words, bytes.fromhex(str(logs[0]["data"])[2:]))
    assert maker == (
        int(TOKENS[0]),
        0,
        2_000_000,
        1_100_000,
        0,
    )  # SELL: gives the token, gets collateral (id 0)
    taker = eth_decode(words, bytes.fromhex(str(logs[2]["data"])[2:]))
    assert taker == (0, int(TOKENS[0]), 2_780_000, 5_000_000, 12_345)  # BUY: gives collateral
    assert eth_decode(["uint256"] * 4, bytes.fromhex(str(logs[3]["data"])[2:])) == (
        0,
        int(TOKENS[0]),
        2_780_000,
        5_000_000,
    )


async def test_only_the_deployer_may_emit(rpc: JsonRpcClient, mirror: ChainMirror) -> None:
    stranger = (await rpc.accounts())[1]
    tx = {"from": stranger, "to": mirror.address, "data": "0x" + encode_match(_match()).hex()}
    with pytest.raises(RpcError) as caught:
        await rpc.call("eth_estimateGas", [tx])
    assert "revert" in caught.value.message.lower()
    sent = await rpc.send_transaction({**tx, "gas": hex(500_000)})
    receipt = await rpc.wait_for_receipt(sent)
    assert receipt["status"] == "0x0"
    assert receipt["logs"] == []


async def test_a_failed_send_fails_its_caller_and_the_sender_goes_on(
    rpc: JsonRpcClient, mirror: ChainMirror
) -> None:
    operator = mirror.operator
    mirror.operator = "0x" + "00" * 19 + "01"  # no key for this account on the node: the node refuses
    with pytest.raises(MirrorError, match="sending match failed"):
        await mirror.emit_match(_match())
    mirror.operator = operator
    tx = await mirror.emit_match(_match())
    assert (await rpc.wait_for_receipt(tx))["status"] == "0x1"
    assert (mirror.sent_count, mirror.failed_count) == (1, 1)


async def test_submit_before_start_is_refused(anvil_url: str) -> None:
    with pytest.raises(MirrorError, match="start"):
        ChainMirror(anvil_url).submit(_match())
