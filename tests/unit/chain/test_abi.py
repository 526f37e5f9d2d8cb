"""Hand-written ABI codec, checked against eth_abi (an independent implementation) and known vectors."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as eth_decode
from eth_abi.abi import encode as eth_encode
from hypothesis import given
from hypothesis import strategies as st

from polyhunter.adapters.chain.abi import (
    AbiError,
    address_topic,
    decode,
    encode,
    encode_call,
    event_topic,
    function_selector,
    keccak256,
    parse_type,
    topic_to_address,
)

ADDRESS = "0x" + "ab" * 20

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
uint256 = st.integers(min_value=0, max_value=2**256 - 1)
uint8 = st.integers(min_value=0, max_value=255)
bytes32 = st.binary(min_size=32, max_size=32)
LEG = "(bytes32,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
legs = st.tuples(bytes32, addresses, uint8, uint256, uint256, uint256, uint256, bytes32, bytes32)


def test_known_vectors() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert function_selector("transfer(address,uint256)").hex() == "a9059cbb"
    assert event_topic("Transfer(address,address,uint256)") == (
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    )
    assert encode(["uint256"], [1]).hex() == "00" * 31 + "01"
    assert encode_call("transfer(address,uint256)", [ADDRESS, 5]).hex() == (
        "a9059cbb" + "00" * 12 + "ab" * 20 + "00" * 31 + "05"
    )


@given(st.lists(legs, max_size=5), legs)
def test_match_call_layout_equals_eth_abi(
    makers: list[tuple[object, ...]], taker: tuple[object, ...]
) -> None:
    types = [f"{LEG}[]", LEG]
    assert encode(types, [makers, taker]) == eth_encode(types, [makers, taker])


@given(
    st.lists(uint256, max_size=6),
    st.lists(addresses, max_size=4),
    st.booleans(),
    st.lists(st.lists(uint8, max_size=3), max_size=3),
    st.integers(min_value=-(2**255), max_value=2**255 - 1),
)
def test_dynamic_and_nested_types_equal_eth_abi(
    numbers: list[int], addrs: list[str], flag: bool, nested: list[list[int]], signed: int
) -> None:
    types = ["uint256[]", "address[]", "bool", "uint8[][]", "int256", "(uint256[],bool)", "uint256[2]"]
    values: list[object] = [numbers, addrs, flag, nested, signed, (numbers, flag), [7, 8]]
    encoded = encode(types, values)
    assert encoded == eth_encode(types, values)
    decoded = decode(types, encoded)
    expected = eth_decode(types, encoded)
    assert [list(x) if isinstance(x, tuple | list) else x for x in decoded[:2]] == [
        list(numbers),
        [a.lower() for a in addrs],
    ]
    assert decoded[2] is flag
    assert [list(inner) for inner in decoded[3]] == [list(inner) for inner in expected[3]]  # type: ignore[attr-defined]
    assert decoded[4] == signed


@given(st.binary(max_size=100), st.lists(st.binary(max_size=40), max_size=3), addresses)
def test_dynamic_bytes_equal_eth_abi_and_round_trip(blob: bytes, blobs: list[bytes], target: str) -> None:
    types = ["address", "bytes", "(uint256,bytes)[]"]
    values: list[object] = [target, blob, [(i, b) for i, b in enumerate(blobs)]]
    encoded = encode(types, values)
    assert encoded == eth_encode(types, values)
    assert decode(types, encoded) == (target.lower(), blob, [(i, b) for i, b in enumerate(blobs)])


def test_dynamic_bytes_longer_than_the_data_are_rejected() -> None:
    with pytest.raises(AbiError):
        decode(["bytes"], (32).to_bytes(32, "big") + (33).to_bytes(32, "big") + b"\0" * 32)
    with pytest.raises(AbiError):
        encode(["bytes"], [7])


@given(st.lists(legs, max_size=4), legs)
def test_decode_inverts_encode(makers: list[tuple[object, ...]], taker: tuple[object, ...]) -> None:
    types = [f"{LEG}[]", LEG]
    makers_back, taker_back = decode(types, encode(types, [makers, taker]))
    assert list(makers_back) == [tuple(m) for m in makers]  # type: ignore[call-overload]
    assert taker_back == tuple(taker)


@pytest.mark.parametrize(
    ("types", "values"),
    [
        (["uint8"], [256]),
        (["uint256"], [-1]),
        (["uint256"], [True]),
        (["address"], ["0x1234"]),
        (["bytes32"], [b"\0" * 31]),
        (["bool"], [1]),
        (["uint256[2]"], [[1]]),
        (["(uint256,bool)"], [(1,)]),
        (["uint256", "uint256"], [1]),
    ],
)
def test_bad_values_are_rejected(types: list[str], values: list[object]) -> None:
    with pytest.raises(AbiError):
        encode(types, values)


@pytest.mark.parametrize("text", ["uint7", "uint264", "bytes33", "string", "(uint256", "mapping"])
def test_unsupported_types_are_rejected(text: str) -> None:
    with pytest.raises(AbiError):
        parse_type(text)


def test_truncated_or_lying_data_is_rejected() -> None:
    with pytest.raises(AbiError):
        decode(["uint256", "uint256"], b"\0" * 32)
    lying_length = (32).to_bytes(32, "big") + (10**6).to_bytes(32, "big")
    with pytest.raises(AbiError):
        decode(["uint256[]"], lying_length)
    with pytest.raises(AbiError):
        decode(["bool"], (2).to_bytes(32, "big"))


def test_address_topics() -> None:
    topic = address_topic("0x" + "AB" * 20)
    assert topic == "0x" + "00" * 12 + "ab" * 20
    assert topic_to_address(topic) == "0x" + "ab" * 20
    with pytest.raises(AbiError):
        topic_to_address("0x" + "11" * 32)  # high bytes set: not an address
    with pytest.raises(AbiError):
        address_topic("0x1234")
