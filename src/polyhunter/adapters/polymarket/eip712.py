"""Ethereum crypto primitives for order and auth signing: keccak-256, addresses, secp256k1 sign/recover.

Keccak-256 goes straight to pycryptodome's C implementation through its cffi handle: one reusable
state per thread (reset, absorb, digest) instead of building a hash object per call, which is about
twice as fast as ``Crypto.Hash.keccak.new(...).digest()`` for the 32..400-byte inputs EIP-712 needs.
If pycryptodome runs on its ctypes backend the portable ``keccak.new`` path is used instead.

Signatures are Ethereum style: 65 bytes ``r || s || v`` with ``v = 27 + recovery id`` (what
``eth_account`` produces and what the exchange contracts and the CLOB accept). Signing is RFC 6979
deterministic with low ``s`` (libsecp256k1 through coincurve), so the bytes equal ``eth_account``'s.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from coincurve import PrivateKey, PublicKey
from Crypto.Hash import keccak as _pcd_keccak

__all__ = [
    "InvalidSignatureError",
    "address_bytes",
    "address_from_private_key",
    "address_from_public_key",
    "keccak256",
    "parse_private_key",
    "recover_address",
    "sign_digest",
    "to_checksum_address",
    "typed_data_digest",
]

SIGNATURE_LENGTH = 65
_V_OFFSET = 27


class InvalidSignatureError(ValueError):
    """A signature that is malformed or from which no public key can be recovered."""


def _portable_keccak256(data: bytes) -> bytes:
    return bytes(_pcd_keccak.new(digest_bits=256, data=data).digest())


def _make_raw_keccak() -> Callable[[bytes], bytes] | None:
    """Keccak-256 over pycryptodome's raw C functions, or None when that path is unavailable."""
    try:
        from Crypto.Util import _raw_api

        if getattr(_raw_api, "backend", None) != "cffi":
            return None
        cffi: Any = importlib.import_module("cffi")
        lib: Any = getattr(_pcd_keccak, "_raw_keccak_lib")  # noqa: B009 - private, untyped handle
    except (ImportError, AttributeError):
        return None

    ffi = cffi.FFI()
    local = threading.local()

    def state() -> tuple[Any, Any]:
        holder = ffi.new("void **")
        if lib.keccak_init(holder, 64, 24) != 0:  # capacity 2*32 bytes, 24 rounds = Keccak-256
            raise RuntimeError("keccak_init failed")
        st = ffi.gc(holder[0], lib.keccak_destroy)
        out = ffi.new("uint8_t[32]")
        local.st = st
        local.out = out
        return st, out

    reset = lib.keccak_reset
    absorb = lib.keccak_absorb
    digest = lib.keccak_digest
    buffer = ffi.buffer

    def raw_keccak256(data: bytes) -> bytes:
        try:
            st = local.st
            out = local.out
        except AttributeError:
            st, out = state()
        reset(st)
        absorb(st, data, len(data))
        digest(st, out, 32, 0x01)  # 0x01 = original Keccak padding (not SHA3's 0x06)
        return bytes(buffer(out)[:])

    # Self-check against the portable implementation before trusting it.
    for probe in (b"", b"abc", bytes(range(256)) * 2):
        if raw_keccak256(probe) != _portable_keccak256(probe):
            return None
    return raw_keccak256


keccak256: Callable[[bytes], bytes] = _make_raw_keccak() or _portable_keccak256
"""Keccak-256 (Ethereum's hash, not NIST SHA3-256)."""


def parse_private_key(key: str | bytes) -> PrivateKey:
    """A secp256k1 private key from 32 raw bytes or a hex string with or without ``0x``."""
    if isinstance(key, str):
        text = key[2:] if key[:2] in ("0x", "0X") else key
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise ValueError("private key is not hex") from exc
    else:
        raw = key
    if len(raw) != 32:
        raise ValueError("private key must be 32 bytes")
    return PrivateKey(raw)


def to_checksum_address(address: str | bytes) -> str:
    """EIP-55 mixed-case form of a 20-byte address."""
    raw = address_bytes(address) if isinstance(address, str) else bytes(address)
    if len(raw) != 20:
        raise ValueError("address must be 20 bytes")
    return _checksum(raw)


@lru_cache(maxsize=8192)  # the same few signers recur; checksumming costs a keccak and 40 char steps
def _checksum(raw: bytes) -> str:
    lower = raw.hex()
    nibbles = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(nib, 16) >= 8 else ch
        for ch, nib in zip(lower, nibbles[:40], strict=True)
    )


def address_bytes(address: str) -> bytes:
    """The 20 bytes of a ``0x``-prefixed hex address (any case)."""
    if len(address) != 42 or address[:2] not in ("0x", "0X"):
        raise ValueError(f"not an address: {address!r}")
    try:
        return bytes.fromhex(address[2:])
    except ValueError as exc:
        raise ValueError(f"not an address: {address!r}") from exc


def address_from_public_key(public_key: PublicKey) -> str:
    return to_checksum_address(keccak256(public_key.format(compressed=False)[1:])[12:])


def address_from_private_key(key: str | bytes | PrivateKey) -> str:
    """Checksummed address of the key's account."""
    pk = key if isinstance(key, PrivateKey) else parse_private_key(key)
    return address_from_public_key(pk.public_key)


def typed_data_digest(domain_separator: bytes, struct_hash: bytes) -> bytes:
    """EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct(message))``."""
    return keccak256(b"\x19\x01" + domain_separator + struct_hash)


def sign_digest(key: PrivateKey, digest: bytes) -> bytes:
    """65-byte ``r || s || v`` (v = 27/28) signature of a 32-byte digest."""
    sig = key.sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes((sig[64] + _V_OFFSET,))


def recover_address(digest: bytes, signature: bytes) -> str:
    """Checksummed address that produced ``signature`` (65 bytes, v in {0,1,27,28}) over ``digest``."""
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignatureError(f"signature must be {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    v = signature[64]
    if v >= _V_OFFSET:
        v -= _V_OFFSET
    if v not in (0, 1):
        raise InvalidSignatureError(f"bad recovery byte {signature[64]}")
    try:
        public_key = PublicKey.from_signature_and_message(signature[:64] + bytes((v,)), digest, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception/ValueError on invalid points
        raise InvalidSignatureError("no public key recoverable from signature") from exc
    return address_from_public_key(public_key)


def hex_to_bytes(text: str) -> bytes:
    """Bytes of a hex string with optional ``0x`` prefix."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(body)
    except ValueError as exc:
        raise ValueError(f"not hex: {text!r}") from exc
