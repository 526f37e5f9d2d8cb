"""Raw transactions signed with a fleet worker's own key (EIP-155 legacy transactions, RLP by hand).

A worker's key never leaves the process: the node only sees ``eth_sendRawTransaction``. Legacy
transactions carry one fee field (``gasPrice``), which is all a replacement needs (same nonce, higher price).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from polyhunter.adapters.chain.abi import keccak256
from polyhunter.adapters.chain.tx_signer import (  # one RLP encoder and key parsing for both kinds
    RlpItem,
    TxSignError,
    rlp_encode,
    signing_key,
)
from polyhunter.adapters.polymarket.eip712 import address_from_private_key

__all__ = ["LegacyTx", "SignedTx", "TxSignError", "TxSigner", "rlp_encode"]


@dataclass(frozen=True, slots=True)
class LegacyTx:
    nonce: int
    gas_price: int
    gas: int
    to: str
    data: bytes = b""
    value: int = 0

    def fields(self) -> list[RlpItem]:
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
        self._key = signing_key(private_key)
        self.chain_id = chain_id
        self.address = address_from_private_key(self._key).lower()

    def __repr__(self) -> str:
        return f"TxSigner(address={self.address}, chain_id={self.chain_id})"

    def sign(self, tx: LegacyTx) -> SignedTx:
        digest = keccak256(rlp_encode([*tx.fields(), self.chain_id, 0, 0]))
        sig = self._key.sign_recoverable(digest, hasher=None)
        r, s, recovery = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
        raw = rlp_encode([*tx.fields(), recovery + 35 + 2 * self.chain_id, r, s])
        return SignedTx(tx, raw, "0x" + keccak256(raw).hex())
