"""Build eth_getLogs-shaped OrderFilled logs with eth_abi (independent of the decoder under test)."""

from __future__ import annotations

from eth_abi.abi import encode as eth_encode

V1_ORDER_FILLED = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"
V2_ORDER_FILLED = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
EXCHANGE = "0xe111180000d2663c0091e4f400237545b87b996b"
LEADER = "0x" + "1e" * 20
OTHER = "0x" + "07" * 20
TOKEN = 71321045679252212594626385532706912750332728571942532289631379312455583992563
TX = "0x" + "aa" * 32
BLOCK_HASH = "0x" + "bb" * 32


def pad(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def _log(topic0: str, maker: str, taker: str, data: bytes, **extra: object) -> dict[str, object]:
    log: dict[str, object] = {
        "address": EXCHANGE,
        "topics": [topic0, "0x" + "0c" * 32, pad(maker), pad(taker)],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": BLOCK_HASH,
        "transactionHash": TX.upper().replace("0X", "0x"),
        "logIndex": "0x3",
        "removed": False,
    }
    log.update(extra)
    return log


def v2_log(
    maker: str, taker: str, side: int, making: int, taking: int, fee: int = 0, **extra: object
) -> dict[str, object]:
    data = eth_encode(
        ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
        [side, TOKEN, making, taking, fee, b"\x01" * 32, b"\x02" * 32],
    )
    return _log(V2_ORDER_FILLED, maker, taker, data, **extra)


def v1_log(
    maker: str, taker: str, maker_asset: int, taker_asset: int, making: int, taking: int, **extra: object
) -> dict[str, object]:
    data = eth_encode(["uint256"] * 5, [maker_asset, taker_asset, making, taking, 0])
    return _log(V1_ORDER_FILLED, maker, taker, data, **extra)
