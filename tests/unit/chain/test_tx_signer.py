"""EIP-1559 transactions signed by `TxSigner` are byte for byte the ones `eth_account` signs, and RLP
encodes the textbook examples."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from polyhunter.adapters.chain.tx_signer import Eip1559Tx, TxSigner, rlp_encode
from polyhunter.adapters.polymarket.eip712 import parse_private_key

KEY = "0x" + "4c" * 32


@pytest.mark.parametrize(
    ("item", "encoded"),
    [
        (b"dog", bytes.fromhex("83646f67")),
        ([b"cat", b"dog"], bytes.fromhex("c88363617483646f67")),
        (b"", bytes.fromhex("80")),
        ([], bytes.fromhex("c0")),
        (0, bytes.fromhex("80")),
        (15, bytes.fromhex("0f")),
        (1024, bytes.fromhex("820400")),
        (b"a" * 56, bytes.fromhex("b838") + b"a" * 56),
    ],
)
def test_rlp_examples(item: bytes | int | list[bytes], encoded: bytes) -> None:
    assert rlp_encode(item) == encoded


def test_rlp_refuses_negative_integers() -> None:
    with pytest.raises(ValueError, match="unsigned"):
        rlp_encode(-1)


@settings(max_examples=60, deadline=None)
@given(
    chain_id=st.sampled_from([1, 137, 31337, 80002]),
    nonce=st.integers(0, 2**32),
    tip=st.integers(0, 10**12),
    base=st.integers(0, 10**12),
    gas=st.integers(21_000, 10**7),
    value=st.integers(0, 10**24),
    data=st.binary(max_size=200),
)
def test_signed_like_eth_account(
    chain_id: int, nonce: int, tip: int, base: int, gas: int, value: int, data: bytes
) -> None:
    to = "0xE111180000d2663C0091e4f400237545B87B996B"
    tx = Eip1559Tx(chain_id, nonce, tip, base + tip, gas, to, value, data)
    raw, tx_hash = TxSigner(parse_private_key(KEY)).sign(tx)
    theirs = Account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": base + tip,
            "gas": gas,
            "to": to,
            "value": value,
            "data": data,
            "accessList": [],
        },
        KEY,
    )
    assert raw == bytes(theirs.raw_transaction)
    assert tx_hash == "0x" + bytes(theirs.hash).hex()


def test_the_key_is_not_in_the_repr() -> None:
    signer = TxSigner(parse_private_key(KEY))
    assert "4c4c" not in repr(signer)
    with pytest.raises(ValueError, match="not an address"):
        signer.sign(Eip1559Tx(137, 0, 1, 2, 21_000, "0x1234"))
