"""Raw legacy transactions signed by hand equal eth_account's (an independent implementation)."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from polyhunter.adapters.chain.legacy_tx_signer import LegacyTx, TxSigner, TxSignError, rlp_encode
from polyhunter.adapters.polymarket.eip712 import to_checksum_address

KEY = "0x" + "4c" * 32


def test_rlp_known_vectors() -> None:
    assert rlp_encode(b"dog") == b"\x83dog"
    assert rlp_encode([b"cat", b"dog"]) == b"\xc8\x83cat\x83dog"
    assert rlp_encode(b"") == b"\x80"
    assert rlp_encode(0) == b"\x80"
    assert rlp_encode(15) == b"\x0f"
    assert rlp_encode(1024) == b"\x82\x04\x00"
    assert rlp_encode([]) == b"\xc0"
    assert rlp_encode(b"a" * 56)[:2] == b"\xb8\x38"
    with pytest.raises(TxSignError):
        rlp_encode(-1)


@settings(max_examples=50)
@given(
    st.integers(0, 2**64 - 1),
    st.integers(1, 10**12),
    st.integers(21_000, 10_000_000),
    st.binary(min_size=20, max_size=20),
    st.binary(max_size=300),
    st.integers(0, 10**20),
    st.sampled_from([1, 137, 31337, 80002]),
)
def test_signed_bytes_equal_eth_account(
    nonce: int, price: int, gas: int, to: bytes, data: bytes, value: int, chain_id: int
) -> None:
    tx = LegacyTx(nonce, price, gas, "0x" + to.hex(), data, value)
    signed = TxSigner(KEY, chain_id).sign(tx)
    theirs = Account.sign_transaction(
        {
            "nonce": nonce,
            "gasPrice": price,
            "gas": gas,
            "to": _checksum(to),
            "value": value,
            "data": data,
            "chainId": chain_id,
        },
        KEY,
    )
    assert signed.raw == bytes(theirs.raw_transaction)
    assert signed.hash == "0x" + bytes(theirs.hash).hex()


def _checksum(raw: bytes) -> str:
    return str(to_checksum_address(raw))


def test_address_and_repr_hide_the_key() -> None:
    signer = TxSigner(KEY, 1)
    assert signer.address == Account.from_key(KEY).address.lower()
    assert "4c4c" not in repr(signer)
    with pytest.raises(TxSignError):
        TxSigner("0x1234", 1)
    with pytest.raises(TxSignError, match="not hex"):  # not a bare ValueError: callers catch TxSignError
        TxSigner("0x" + "zz" * 32, 1)
    with pytest.raises(TxSignError):
        signer.sign(LegacyTx(0, 1, 21_000, "0x1234"))
