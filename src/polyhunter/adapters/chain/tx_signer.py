"""Sign EIP-1559 (type 2) transactions locally, for ``eth_sendRawTransaction``.

The raw transaction is ``0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
data, accessList, yParity, r, s])``, signed over ``keccak256(0x02 || rlp([...the first nine]))`` with a
low-s secp256k1 signature (RFC 6979), as ``eth_account`` does. The key never leaves this object and is
never part of its repr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PrivateKey

from polyhunter.adapters.chain.abi import hex_to_bytes, keccak256
from polyhunter.adapters.polymarket.eip712 import parse_private_key

__all__ = ["Eip1559Tx", "TxSignError", "TxSigner", "rlp_encode", "signing_key"]

RlpItem = bytes | int | Sequence["RlpItem"]


class TxSignError(ValueError):
    """A transaction or value that cannot be signed or encoded."""


def signing_key(private_key: str | bytes | PrivateKey) -> PrivateKey:
    """A signer's secp256k1 key: 32 raw bytes, hex with or without ``0x``, or a key already parsed. The one
    key parsing of both transaction signers (this one and legacy_tx_signer.py); TxSignError, never showing
    the key, when it is not one."""
    if isinstance(private_key, PrivateKey):
        return private_key
    try:
        return parse_private_key(private_key)
    except ValueError as exc:
        raise TxSignError(str(exc)) from None


def _int_bytes(value: int) -> bytes:
    if value < 0:
        raise TxSignError("RLP integers are unsigned")
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def _length_prefix(length: int, short: int) -> bytes:
    if length < 56:
        return bytes((short + length,))
    raw = _int_bytes(length)
    return bytes((short + 55 + len(raw),)) + raw


def rlp_encode(item: RlpItem) -> bytes:
    """Recursive Length Prefix encoding of bytes, unsigned ints (big-endian, no leading zeros) and lists."""
    if isinstance(item, int):
        item = _int_bytes(item)
    if isinstance(item, bytes | bytearray):
        raw = bytes(item)
        if len(raw) == 1 and raw[0] < 0x80:
            return raw
        return _length_prefix(len(raw), 0x80) + raw
    payload = b"".join(rlp_encode(x) for x in item)
    return _length_prefix(len(payload), 0xC0) + payload


@dataclass(frozen=True, slots=True)
class Eip1559Tx:
    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: str  # 0x address
    value: int = 0
    data: bytes = b""

    def fields(self) -> list[RlpItem]:
        to = hex_to_bytes(self.to)
        if len(to) != 20:
            raise ValueError(f"not an address: {self.to!r}")
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            to,
            self.value,
            self.data,
            [],  # access list
        ]

    def signing_hash(self) -> bytes:
        return keccak256(b"\x02" + rlp_encode(self.fields()))


class TxSigner:
    """``TxSigner(key).sign(tx)`` -> (raw transaction bytes, transaction hash)."""

    __slots__ = ("_key",)

    def __init__(self, key: str | bytes | PrivateKey) -> None:
        self._key = signing_key(key)

    def __repr__(self) -> str:
        return "TxSigner(<key redacted>)"

    def sign(self, tx: Eip1559Tx) -> tuple[bytes, str]:
        signature = self._key.sign_recoverable(tx.signing_hash(), hasher=None)  # r || s || recid, low s
        r, s, y_parity = signature[:32], signature[32:64], signature[64]
        raw = b"\x02" + rlp_encode(
            [*tx.fields(), y_parity, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
        )
        return raw, "0x" + keccak256(raw).hex()
