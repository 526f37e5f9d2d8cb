"""CLOB authentication headers: L1 (EIP-712 ``ClobAuth``) and L2 (API-key HMAC), built and verified.

L1 signs ``ClobAuth(address address,string timestamp,uint256 nonce,string message)`` in the domain
``{name "ClobAuthDomain", version "1", chainId}`` (no verifying contract) and is used to create or
derive API keys. L2 signs ``str(timestamp) + METHOD + path + body`` with HMAC-SHA256 under the
url-safe-base64-decoded API secret and sends url-safe base64 (with padding). The path never carries
the query string; the body is the exact string sent, with ``'`` replaced by ``"`` as py_clob_client_v2
does before signing (both sides here apply the same rule). Both header sets can be verified, which is
what the local simulator does with incoming requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coincurve import PrivateKey

from polyhunter.adapters.polymarket.eip712 import (
    InvalidSignatureError,
    address_bytes,
    address_from_private_key,
    hex_to_bytes,
    keccak256,
    parse_private_key,
    recover_address,
    sign_digest,
    typed_data_digest,
)

__all__ = [
    "CLOB_AUTH_MESSAGE",
    "POLY_ADDRESS",
    "POLY_API_KEY",
    "POLY_NONCE",
    "POLY_PASSPHRASE",
    "POLY_SIGNATURE",
    "POLY_TIMESTAMP",
    "ApiCreds",
    "AuthError",
    "build_hmac_signature",
    "clob_auth_digest",
    "clob_auth_domain_separator",
    "l1_headers",
    "l2_headers",
    "recover_clob_auth_signer",
    "sign_clob_auth",
    "signing_path",
    "verify_l1_headers",
    "verify_l2_headers",
]

POLY_ADDRESS = "POLY_ADDRESS"
POLY_SIGNATURE = "POLY_SIGNATURE"
POLY_TIMESTAMP = "POLY_TIMESTAMP"
POLY_NONCE = "POLY_NONCE"
POLY_API_KEY = "POLY_API_KEY"
POLY_PASSPHRASE = "POLY_PASSPHRASE"  # noqa: S105 - a header name, not a secret

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
_CLOB_AUTH_TYPE_HASH = keccak256(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")
_DOMAIN_TYPE_HASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId)")
_MESSAGE_HASH = keccak256(CLOB_AUTH_MESSAGE.encode())
_domain_cache: dict[int, bytes] = {}


class AuthError(Exception):
    """Headers that are missing, malformed, stale or signed by someone else."""


@dataclass(frozen=True, slots=True)
class ApiCreds:
    """CLOB API credentials (L2). ``secret`` is url-safe base64 as the venue issues it."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


# ---------------------------------------------------------------------------------------------- L1


def clob_auth_domain_separator(chain_id: int) -> bytes:
    sep = _domain_cache.get(chain_id)
    if sep is None:
        sep = keccak256(
            _DOMAIN_TYPE_HASH + keccak256(b"ClobAuthDomain") + keccak256(b"1") + chain_id.to_bytes(32, "big")
        )
        _domain_cache[chain_id] = sep
    return sep


def clob_auth_digest(address: str, chain_id: int, timestamp: int | str, nonce: int) -> bytes:
    """EIP-712 digest of ``ClobAuth`` for ``address`` (timestamp is signed as a decimal string)."""
    struct_hash = keccak256(
        _CLOB_AUTH_TYPE_HASH
        + bytes(12)
        + address_bytes(address)
        + keccak256(str(timestamp).encode())
        + nonce.to_bytes(32, "big")
        + _MESSAGE_HASH
    )
    return typed_data_digest(clob_auth_domain_separator(chain_id), struct_hash)


def sign_clob_auth(
    private_key: str | bytes | PrivateKey, chain_id: int, timestamp: int, nonce: int = 0
) -> str:
    """``0x``-prefixed 65-byte L1 signature, identical to py_clob_client_v2's."""
    key = private_key if isinstance(private_key, PrivateKey) else parse_private_key(private_key)
    address = address_from_private_key(key)
    return "0x" + sign_digest(key, clob_auth_digest(address, chain_id, timestamp, nonce)).hex()


def recover_clob_auth_signer(
    signature: str, chain_id: int, address: str, timestamp: int | str, nonce: int
) -> str:
    """Address whose key produced ``signature`` over the ``ClobAuth`` claiming ``address``."""
    return recover_address(clob_auth_digest(address, chain_id, timestamp, nonce), hex_to_bytes(signature))


def _now_s() -> int:
    return int(datetime.now(UTC).timestamp())


def l1_headers(
    private_key: str | bytes | PrivateKey, chain_id: int, *, timestamp: int | None = None, nonce: int = 0
) -> dict[str, str]:
    """``POLY_ADDRESS/POLY_SIGNATURE/POLY_TIMESTAMP/POLY_NONCE`` for ``/auth/api-key`` and friends."""
    key = private_key if isinstance(private_key, PrivateKey) else parse_private_key(private_key)
    ts = timestamp if timestamp is not None else _now_s()
    return {
        POLY_ADDRESS: address_from_private_key(key),
        POLY_SIGNATURE: sign_clob_auth(key, chain_id, ts, nonce),
        POLY_TIMESTAMP: str(ts),
        POLY_NONCE: str(nonce),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if value is None or value == "":
        raise AuthError(f"missing header {name}")
    return value


def _int_header(headers: Mapping[str, str], name: str) -> tuple[str, int]:
    raw = _header(headers, name)
    if not (raw.isascii() and raw.isdigit()):
        raise AuthError(f"header {name} is not a non-negative integer")
    return raw, int(raw)


def _check_age(timestamp: int, now_s: int | None, max_skew_s: int | None) -> None:
    if max_skew_s is None:
        return
    now = now_s if now_s is not None else _now_s()
    if abs(now - timestamp) > max_skew_s:
        raise AuthError(f"timestamp {timestamp} is more than {max_skew_s}s away from {now}")


def verify_l1_headers(
    headers: Mapping[str, str], chain_id: int, *, now_s: int | None = None, max_skew_s: int | None = None
) -> tuple[str, int]:
    """Check L1 headers; return (checksummed address, nonce). Raises :class:`AuthError`.

    ``POLY_NONCE`` defaults to 0 when absent, as the SDK sends 0 by default.
    """
    address = _header(headers, POLY_ADDRESS)
    signature = _header(headers, POLY_SIGNATURE)
    ts_raw, timestamp = _int_header(headers, POLY_TIMESTAMP)
    nonce = _int_header(headers, POLY_NONCE)[1] if any(k.upper() == POLY_NONCE for k in headers) else 0
    _check_age(timestamp, now_s, max_skew_s)
    try:
        recovered = recover_clob_auth_signer(signature, chain_id, address, ts_raw, nonce)
    except (InvalidSignatureError, ValueError) as exc:
        raise AuthError(f"bad L1 signature: {exc}") from exc
    if recovered.lower() != address.lower():
        raise AuthError("L1 signature was not made by POLY_ADDRESS")
    return recovered, nonce


# ---------------------------------------------------------------------------------------------- L2


def signing_path(request_path: str) -> str:
    """The path part that L2 signs: everything before ``?``."""
    return request_path.split("?", 1)[0]


def build_hmac_signature(
    secret: str, timestamp: int | str, method: str, request_path: str, body: str | None
) -> str:
    """url-safe base64 HMAC-SHA256 of ``timestamp + method + path + body`` (py_clob_client_v2 rules)."""
    try:
        key = base64.urlsafe_b64decode(secret)
    except (binascii.Error, ValueError) as exc:
        raise AuthError("API secret is not url-safe base64") from exc
    message = f"{timestamp}{method}{request_path}"
    if body:
        message += body.replace("'", '"')
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def l2_headers(
    address: str,
    creds: ApiCreds,
    method: str,
    request_path: str,
    body: str | None = None,
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """L2 headers for one request. ``body`` must be the exact string that goes on the wire."""
    ts = timestamp if timestamp is not None else _now_s()
    return {
        POLY_ADDRESS: address,
        POLY_SIGNATURE: build_hmac_signature(creds.secret, ts, method, signing_path(request_path), body),
        POLY_TIMESTAMP: str(ts),
        POLY_API_KEY: creds.api_key,
        POLY_PASSPHRASE: creds.passphrase,
    }


def verify_l2_headers(
    headers: Mapping[str, str],
    lookup: Callable[[str], tuple[str, ApiCreds] | None],
    method: str,
    request_path: str,
    body: str | None,
    *,
    now_s: int | None = None,
    max_skew_s: int | None = None,
) -> tuple[str, ApiCreds]:
    """Check L2 headers against the credentials ``lookup(api_key) -> (owner address, creds)``.

    Returns the owner address and creds; raises :class:`AuthError` on an unknown key, wrong
    passphrase, an address other than the key's owner, a stale timestamp or a bad HMAC.
    """
    api_key = _header(headers, POLY_API_KEY)
    found = lookup(api_key)
    if found is None:
        raise AuthError("unknown API key")
    owner, creds = found
    if not hmac.compare_digest(_header(headers, POLY_PASSPHRASE).encode(), creds.passphrase.encode()):
        raise AuthError("wrong passphrase")
    if _header(headers, POLY_ADDRESS).lower() != owner.lower():
        raise AuthError("POLY_ADDRESS is not the owner of the API key")
    ts_raw, timestamp = _int_header(headers, POLY_TIMESTAMP)
    _check_age(timestamp, now_s, max_skew_s)
    expected = build_hmac_signature(creds.secret, ts_raw, method, signing_path(request_path), body)
    if not hmac.compare_digest(_header(headers, POLY_SIGNATURE).encode(), expected.encode()):
        raise AuthError("bad L2 signature")
    return owner, creds
