"""Raw transactions signed with a fleet worker's own key (EIP-155 legacy transactions, RLP by hand).

A worker's key never leaves the process: the node only sees ``eth_sendRawTransaction``. Legacy
transactions carry one fee field (``gasPrice``), which is all a replacement needs (same nonce, higher price).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from coincurve import PrivateKey

from polyhunter.adapters.chain.abi import keccak256


class TxSignError(ValueError):
    pass


def rlp_encode(item: bytes | int | list[object]) -> bytes:
    """Recursive Length Prefix encoding of bytes, non-negative ints (big-endian, no leading zeros) and lists."""
    if isinstance(item, list):
        body = b"".join(rlp_encode(x) for x in item)  # type: ignore[arg-type]
        return _length_prefix(len(body), 0xC0) + body
    if isinstance(item, int):
        if item < 0:
            raise TxSignError(f"RLP cannot encode a negative int: {item}")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length_prefix(len(item), 0x80) + item


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(encoded),)) + encoded


@dataclass(frozen=True, slots=True)
class LegacyTx:
    nonce: int
    gas_price: int
    gas: int
    to: str
    data: bytes = b""
    value: int = 0

    def fields(self) -> list[object]:
        to = bytes.fromhex(self.to.removeprefix("0x"))
        if len(to) != 20:
            raise TxSignError(f"bad recipient {self.to!r}")
        return [self.nonce, self.gas_price, self.gas, to, self.value, self.data]

    def with_gas_price(self, gas_price: int) -> LegacyTx:
        return replace(self, gas_price=gas_price)


@dataclass(frozen=True, slots=True)
class SignedTx:
    tx: LegacyTx
    raw: bytes
    hash: str  # 0x + keccak256(raw)


class TxSigner:
    """Signs legacy transactions for one key and chain. ``repr`` never shows the key."""

    __slots__ = ("_key", "address", "chain_id")

    def __init__(self, private_key: str | bytes, chain_id: int) -> None:
        raw = bytes.fromhex(private_key.removeprefix("0x")) if isinstance(private_key, str) else private_key
        if len(raw) != 32:
            raise TxSignError("private key must be 32 bytes")
        self._key = PrivateKey(raw)
        self.chain_id = chain_id
        self.address = "0x" + keccak256(self._key.public_key.format(compressed=False)[1:])[12:].hex()

    def __repr__(self) -> str:
        return f"TxSigner(address={self.address}, chain_id={self.chain_id})"

    def sign(self, tx: LegacyTx) -> SignedTx:
        digest = keccak256(rlp_encode([*tx.fields(), self.chain_id, 0, 0]))
        sig = self._key.sign_recoverable(digest, hasher=None)
        r, s, recovery = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
        raw = rlp_encode([*tx.fields(), recovery + 35 + 2 * self.chain_id, r, s])
        return SignedTx(tx, raw, "0x" + keccak256(raw).hex())
