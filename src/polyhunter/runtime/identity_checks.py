"""Checks of the addresses and private keys a run file names, before anything is migrated or started.

An address is ``0x`` + 40 hex digits and not the zero address; all-lower or all-upper case is taken
as is, a mixed-case address must carry a valid EIP-55 checksum (a mixed-case typo is caught here).
A private key is 32 bytes as 64 hex digits (``0x`` optional), in the secp256k1 range 1..n-1.
"""

from __future__ import annotations

import re
import unicodedata

from coincurve import PrivateKey
from Crypto.Hash import keccak

from polyhunter.adapters.polymarket.funder_wallets import funder_of

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
ZERO_ADDRESS = "0x" + "0" * 40
# The order of secp256k1's group: a private key is an integer in 1..N-1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _keccak(data: bytes) -> bytes:
    return bytes(keccak.new(digest_bits=256, data=data).digest())


def checksum_address(lower_hex40: str) -> str:
    digest = _keccak(lower_hex40.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower_hex40, digest[:40], strict=True)
    )


def parse_address(value: str) -> str:
    """The address in lower case; ValueError (a one-line reason) when it is not a usable address."""
    if not _ADDRESS.fullmatch(value):
        raise ValueError("must be an address: 0x + 40 hex digits")
    body = value[2:]
    if body != body.lower() and body != body.upper() and checksum_address(body.lower()) != value:
        raise ValueError("mixed-case address with a wrong EIP-55 checksum (a typo?)")
    lower = value.lower()
    if lower == ZERO_ADDRESS:
        raise ValueError("must not be the zero address")
    return lower


def address_of_key(key: str) -> str:
    """The lower-case address of a private key; ValueError (never showing the key) when it is not one."""
    text = key.strip()
    if not _KEY.fullmatch(text):
        raise ValueError("is not a private key: 64 hex digits (0x optional) expected")
    raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    if not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
        raise ValueError("is not a private key: outside the secp256k1 range")
    public = PrivateKey(raw).public_key.format(compressed=False)[1:]
    return "0x" + _keccak(public)[-20:].hex()


def name_problem(name: str) -> str | None:
    """Why a display name is refused: control or format characters, or surrounding blanks."""
    if any(unicodedata.category(c).startswith("C") for c in name):
        return "must not contain control characters"
    if name != name.strip():
        return "must not start or end with whitespace"
    return None


PROXY_SIGNATURE_TYPES = (1, 2)  # POLY_PROXY, POLY_GNOSIS_SAFE: orders are made for a funder contract


def signer_problems(
    key: str, key_source: str, signature_type: int, signer: str | None, funder: str | None
) -> list[tuple[str, str]]:
    """(run-file key, error) for a follower's own key: a real key (never shown; ``key_source`` says
    where it came from), giving ``signer`` when that is set, and for signature types 1 and 2 a
    funder that is the signer's own proxy wallet (1) or Safe (2), as the exchange checks: naming another
    wallet as the funder would spend its funds. Addresses are already parsed (lower case)."""
    key_at = "private_key_env" if key_source.startswith("env") else "private_key"
    try:
        address = address_of_key(key)
    except ValueError as exc:
        return [(key_at, f"{key_source} {exc}")]
    problems = []
    if signer is not None and signer != address:
        problems.append(("signer", f"{signer} is not the address of the key in {key_at}"))
    if signature_type in PROXY_SIGNATURE_TYPES:
        if funder is None:
            problems.append(
                ("funder", f"signature_type {signature_type} needs the funder (proxy / Safe) address")
            )
        elif funder == address:
            problems.append(
                (
                    "funder",
                    f"signature_type {signature_type} needs the proxy / Safe address, not the signer's own",
                )
            )
        elif funder != (own := funder_of(address, signature_type)):
            kind = "proxy wallet" if signature_type == 1 else "Safe"
            problems.append(
                (
                    "funder",
                    f"{funder} is not the {kind} of this key's address {address} (its {kind} is {own}); "
                    f"signature_type {signature_type} trades only for the signer's own",
                )
            )
    return problems
