"""Which funder an EOA signer may trade for: its Polymarket proxy wallet or its Gnosis Safe.

An order of signature type 1 (``POLY_PROXY``) or 2 (``POLY_GNOSIS_SAFE``) is signed by an EOA for a
funder contract (the order's ``maker``). The exchange accepts it only when the funder is the one the
signer owns, and that address follows from the signer alone (CREATE2 from Polymarket's factories on
Polygon), deployed or not:

* proxy wallet: factory ``0xaB45…4052``, salt ``keccak256(abi.encodePacked(signer))`` (20 bytes), and
  the init code hash of the factory's EIP-1167 proxy;
* Safe: factory ``0xaacF…541b``, salt ``keccak256(abi.encode(signer))`` (32 bytes), and the init code
  hash of the Safe proxy it deploys.

The run-file check refuses a funder that is not the key's own (one line, before anything starts), and
the simulator refuses such an order, as the exchange does: a follower can never spend another wallet's
funds by naming it as its funder.
"""

from __future__ import annotations

from Crypto.Hash import keccak

POLY_PROXY = 1
POLY_GNOSIS_SAFE = 2
PROXY_FACTORY = "0xab45c5a4b0c941a2f231c04c3f49182e1a254052"
PROXY_INIT_CODE_HASH = bytes.fromhex("d21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b")
SAFE_FACTORY = "0xaacfeea03eb1561c4e67d661e40682bd20e3541b"
SAFE_INIT_CODE_HASH = bytes.fromhex("2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf")


def _keccak(data: bytes) -> bytes:
    return bytes(keccak.new(digest_bits=256, data=data).digest())


def _create2(factory: str, salt: bytes, init_code_hash: bytes) -> str:
    return "0x" + _keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + init_code_hash)[12:].hex()


def _signer_bytes(signer: str) -> bytes:
    raw = bytes.fromhex(signer[2:] if signer.startswith("0x") else signer)
    if len(raw) != 20:
        raise ValueError(f"not an address: {signer!r}")
    return raw


def proxy_wallet_of(signer: str) -> str:
    """The Polymarket proxy wallet (signature type 1 funder) of an EOA, lower case."""
    return _create2(PROXY_FACTORY, _keccak(_signer_bytes(signer)), PROXY_INIT_CODE_HASH)


def safe_of(signer: str) -> str:
    """The Polymarket Gnosis Safe (signature type 2 funder) of an EOA, lower case."""
    return _create2(SAFE_FACTORY, _keccak(b"\x00" * 12 + _signer_bytes(signer)), SAFE_INIT_CODE_HASH)


def funder_of(signer: str, signature_type: int) -> str | None:
    """The only funder ``signer`` may sign for with ``signature_type`` 1 or 2; None for other types."""
    if signature_type == POLY_PROXY:
        return proxy_wallet_of(signer)
    if signature_type == POLY_GNOSIS_SAFE:
        return safe_of(signer)
    return None
