"""Crypto primitives: keccak (fast path vs reference, across threads), checksums, sign/recover."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from Crypto.Hash import keccak as reference_keccak
from eth_account import Account

from polyhunter.adapters.polymarket.eip712 import (
    InvalidSignatureError,
    address_from_private_key,
    keccak256,
    parse_private_key,
    recover_address,
    sign_digest,
    to_checksum_address,
)


def _reference(data: bytes) -> bytes:
    return reference_keccak.new(digest_bits=256, data=data).digest()


def test_keccak_matches_reference_for_many_lengths() -> None:
    for length in [*range(0, 300), 383, 384, 385, 1000, 4096]:
        data = os.urandom(length)
        assert keccak256(data) == _reference(data), length


def test_keccak_is_correct_under_threads() -> None:
    inputs = [os.urandom(i % 500) for i in range(4000)]
    expected = [_reference(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(keccak256, inputs, chunksize=7))
    assert got == expected


def test_checksum_addresses_eip55_examples() -> None:
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert to_checksum_address(address.lower()) == address
    with pytest.raises(ValueError, match="address"):
        to_checksum_address("0x1234")


def test_sign_and_recover_match_eth_account() -> None:
    for _ in range(20):
        key = os.urandom(32)
        digest = os.urandom(32)
        ours = sign_digest(parse_private_key(key), digest)
        theirs = Account._sign_hash(digest, private_key=key).signature
        assert ours == bytes(theirs)
        assert ours[64] in (27, 28)
        address = address_from_private_key(key)
        assert address == Account.from_key(key).address
        assert recover_address(digest, ours) == address
        assert recover_address(digest, ours[:64] + bytes((ours[64] - 27,))) == address


def test_recover_rejects_malformed_signatures() -> None:
    digest = bytes(32)
    with pytest.raises(InvalidSignatureError, match="65 bytes"):
        recover_address(digest, bytes(64))
    with pytest.raises(InvalidSignatureError, match="recovery byte"):
        recover_address(digest, bytes(64) + b"\x05")
    with pytest.raises(InvalidSignatureError):
        recover_address(digest, bytes(64) + b"\x1b")  # r = s = 0
    with pytest.raises(ValueError, match="hex"):
        parse_private_key("0xzz")
