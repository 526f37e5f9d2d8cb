"""Fast CLOB V2/V3 order signing, order hashes and signature recovery.

Signed struct (CTF Exchange V2 ``Structs.sol``; V3 uses the same struct, domain version "3")::

    Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,
          uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,
          bytes32 builder)

    domain = EIP712Domain(name "Polymarket CTF Exchange", version "2"|"3", chainId, verifyingContract)

``hashStruct(order)`` is computed by packing the twelve 32-byte words directly (no ABI encoder) and the
domain separator is cached per (chain, contract, version). The EIP-712 digest is the order hash the
CLOB reports as ``orderID``. Signatures match ``py_clob_client_v2`` byte for byte (RFC 6979, low s,
v = 27/28); ``expiration`` travels in the wire body but is not signed.

Signature type 3 (POLY_1271, deposit wallets): like the official client, the EOA that owns the wallet
signs a Solady ``TypedDataSign`` envelope (wallet domain ``DepositWallet``/``1``, verifyingContract =
the wallet = ``order.signer``) and the signature is the blob
``ecdsa(65) || appDomainSeparator(32) || contentsHash(32) || contentsType || len(contentsType)(2)``
that the wallet's ERC-1271 ``isValidSignature`` unwraps. Whether the recovered EOA really owns the wallet
is the wallet contract's business; :func:`recover_order_signer` returns that EOA.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Any

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
)
from polyhunter.domain.signal import Side

__all__ = [
    "BYTES32_ZERO",
    "EXCHANGE_DOMAIN_NAME",
    "ORDER_TYPE_HASH",
    "ORDER_TYPE_STRING",
    "ExchangeDomain",
    "InvalidSignatureError",
    "Order",
    "OrderSigner",
    "SignatureType",
    "SignedOrder",
    "address_from_private_key",
    "domain_separator",
    "exchange_domain",
    "generate_salt",
    "order_digest",
    "order_hash",
    "order_struct_hash",
    "order_to_wire_json",
    "recover_order_signer",
    "verify_order_signature",
]

EXCHANGE_DOMAIN_NAME = "Polymarket CTF Exchange"
BYTES32_ZERO = "0x" + "00" * 32

ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
ORDER_TYPE_HASH = keccak256(ORDER_TYPE_STRING.encode())
DOMAIN_TYPE_HASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

# POLY_1271 envelope (Solady ERC-1271 nested EIP-712, as the deposit wallet verifies it).
TYPED_DATA_SIGN_TYPE_HASH = keccak256(
    (
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
        "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
    ).encode()
)
_DEPOSIT_WALLET_NAME_HASH = keccak256(b"DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH = keccak256(b"1")
_ORDER_TYPE_BYTES = ORDER_TYPE_STRING.encode()
_POLY_1271_TAIL = _ORDER_TYPE_BYTES + len(_ORDER_TYPE_BYTES).to_bytes(2, "big")

_PAD12 = bytes(12)
_UINT256_LIMIT = 1 << 256
_WORD_SIDE = {Side.BUY: bytes(32), Side.SELL: (1).to_bytes(32, "big")}

# Exchange contracts (PCC2 1.2.1 config, protocol reference §3.7).
_EXCHANGES: dict[int, dict[str, str]] = {
    137: {
        "v2": "0xE111180000d2663C0091e4f400237545B87B996B",
        "v2_neg_risk": "0xe2222d279d744050d28e00520010520000310F59",
        "v3": "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
    },
    # anvil (the simulator's chain mode): Polygon's addresses, where the simulator places its contracts
    31337: {
        "v2": "0xE111180000d2663C0091e4f400237545B87B996B",
        "v2_neg_risk": "0xe2222d279d744050d28e00520010520000310F59",
        "v3": "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
    },
    80002: {
        "v2": "0xE111180000d2663C0091e4f400237545B87B996B",
        "v2_neg_risk": "0xe2222d279d744050d28e00520010520000310F59",
        "v3": "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D",
    },
}


class SignatureType(IntEnum):
    EOA = 0
    POLY_PROXY = 1
    POLY_GNOSIS_SAFE = 2
    POLY_1271 = 3


@lru_cache(maxsize=256)
def domain_separator(chain_id: int, verifying_contract: str, version: str) -> bytes:
    """EIP-712 domain separator of a CTF exchange (cached per chain, contract, version)."""
    return keccak256(
        DOMAIN_TYPE_HASH
        + keccak256(EXCHANGE_DOMAIN_NAME.encode())
        + keccak256(version.encode())
        + chain_id.to_bytes(32, "big")
        + _PAD12
        + address_bytes(verifying_contract)
    )


@dataclass(frozen=True, slots=True)
class ExchangeDomain:
    """EIP-712 domain of one exchange contract; ``separator`` is computed once."""

    chain_id: int
    verifying_contract: str
    version: str = "2"
    separator: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version not in ("2", "3"):
            raise ValueError(f"unsupported exchange domain version {self.version!r}")
        sep = domain_separator(self.chain_id, self.verifying_contract.lower(), self.version)
        object.__setattr__(self, "separator", sep)


@lru_cache(maxsize=16)
def exchange_domain(chain_id: int, version: int = 2, neg_risk: bool = False) -> ExchangeDomain:
    """Domain of the exchange an order must be signed for, chosen like the official client.

    V2: the neg-risk exchange for neg-risk markets, else the CTF exchange. V3: one exchange for all.
    """
    try:
        contracts = _EXCHANGES[chain_id]
    except KeyError as exc:
        raise ValueError(f"no exchange contracts known for chain {chain_id}") from exc
    if version == 3:
        return ExchangeDomain(chain_id, contracts["v3"], "3")
    if version == 2:
        return ExchangeDomain(chain_id, contracts["v2_neg_risk" if neg_risk else "v2"], "2")
    raise ValueError(f"unsupported order version {version}")


@dataclass(frozen=True, slots=True)
class Order:
    """An unsigned V2/V3 order. Amounts are integer micro-units; ``timestamp_ms`` is creation time."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: Side
    signature_type: SignatureType
    timestamp_ms: int
    metadata: str = BYTES32_ZERO
    builder: str = BYTES32_ZERO
    expiration: int = 0  # wire only (GTD); not part of the signed struct

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))
        object.__setattr__(self, "signature_type", SignatureType(self.signature_type))
        for name in ("salt", "token_id", "maker_amount", "taker_amount", "timestamp_ms", "expiration"):
            value = getattr(self, name)
            if not 0 <= value < _UINT256_LIMIT:
                raise ValueError(f"{name} out of uint256 range: {value}")


@dataclass(frozen=True, slots=True)
class SignedOrder:
    order: Order
    signature: str  # 0x-prefixed hex
    order_hash: str  # 0x-prefixed EIP-712 digest = the CLOB's orderID


def _bytes32(value: str) -> bytes:
    raw = hex_to_bytes(value)
    if len(raw) > 32:
        raise ValueError(f"more than 32 bytes: {value!r}")
    return raw.rjust(32, b"\x00")


def order_struct_hash(order: Order) -> bytes:
    """``hashStruct(order)``: keccak of the typehash and the eleven fields as 32-byte words."""
    return keccak256(
        b"".join(
            (
                ORDER_TYPE_HASH,
                order.salt.to_bytes(32, "big"),
                _PAD12,
                address_bytes(order.maker),
                _PAD12,
                address_bytes(order.signer),
                order.token_id.to_bytes(32, "big"),
                order.maker_amount.to_bytes(32, "big"),
                order.taker_amount.to_bytes(32, "big"),
                _WORD_SIDE[order.side],
                int(order.signature_type).to_bytes(32, "big"),
                order.timestamp_ms.to_bytes(32, "big"),
                _bytes32(order.metadata),
                _bytes32(order.builder),
            )
        )
    )


def order_digest(order: Order, domain: ExchangeDomain) -> bytes:
    """EIP-712 digest of an order (the bytes an EOA signs for signature types 0-2)."""
    return keccak256(b"\x19\x01" + domain.separator + order_struct_hash(order))


def order_hash(order: Order, domain: ExchangeDomain) -> str:
    """The order hash as the CLOB reports it (``orderID``): ``0x`` + hex of the EIP-712 digest."""
    return "0x" + order_digest(order, domain).hex()


def _poly_1271_digest(contents_hash: bytes, wallet: str, domain: ExchangeDomain) -> bytes:
    envelope = keccak256(
        TYPED_DATA_SIGN_TYPE_HASH
        + contents_hash
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + domain.chain_id.to_bytes(32, "big")
        + _PAD12
        + address_bytes(wallet)
        + bytes(32)  # wallet domain salt
    )
    return keccak256(b"\x19\x01" + domain.separator + envelope)


class OrderSigner:
    """Signs orders with one private key. Thread-safe; keep one per key and reuse it."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: str | bytes) -> None:
        self._key: PrivateKey = parse_private_key(private_key)
        self.address: str = address_from_private_key(self._key)

    def __repr__(self) -> str:
        return f"OrderSigner(address={self.address})"

    @property
    def private_key(self) -> PrivateKey:
        """The key itself, for the L1 (ClobAuth) headers that derive this signer's API key."""
        return self._key

    def sign(self, order: Order, domain: ExchangeDomain) -> SignedOrder:
        """Sign ``order`` for ``domain``; same checks and bytes as the official client."""
        struct_hash = order_struct_hash(order)
        sep = domain.separator
        digest = keccak256(b"\x19\x01" + sep + struct_hash)
        if order.signature_type == SignatureType.POLY_1271:
            inner = sign_digest(self._key, _poly_1271_digest(struct_hash, order.signer, domain))
            blob = inner + sep + struct_hash + _POLY_1271_TAIL
            return SignedOrder(order, "0x" + blob.hex(), "0x" + digest.hex())
        if order.signer.lower() != self.address.lower():
            raise ValueError("signer does not match")
        return SignedOrder(order, "0x" + sign_digest(self._key, digest).hex(), "0x" + digest.hex())

    def sign_for_contract(self, order: Order, domain: ExchangeDomain) -> SignedOrder:
        """POLY_1271 for a maker contract that checks a plain signature itself: a custody proxy in DIRECT
        mode, whose EIP-1271 ``isValidSignature`` recovers this key from the order's EIP-712 digest and
        accepts it when the key is one of its executor's listed workers. The order's maker and signer are
        the contract; the signature is this key's 65-byte ECDSA signature of the digest (no envelope)."""
        if order.signature_type != SignatureType.POLY_1271:
            raise ValueError("a contract-signed order has signature type 3 (POLY_1271)")
        if order.signer.lower() != order.maker.lower():
            raise ValueError("a contract-signed order's signer is its maker (the contract)")
        digest = keccak256(b"\x19\x01" + domain.separator + order_struct_hash(order))
        return SignedOrder(order, "0x" + sign_digest(self._key, digest).hex(), "0x" + digest.hex())

    def build(
        self,
        *,
        maker: str | None,
        token_id: int,
        maker_amount: int,
        taker_amount: int,
        side: Side,
        signature_type: SignatureType = SignatureType.EOA,
        metadata: str = BYTES32_ZERO,
        builder: str = BYTES32_ZERO,
        expiration: int = 0,
        salt: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Order:
        """An order for this key like the official builder: ``maker`` = funder (default: this address);
        ``signer`` = this address, except POLY_1271 where the wallet (maker) is the signer."""
        funder = maker if maker is not None else self.address
        now_ms = time.time_ns() // 1_000_000
        return Order(
            salt=salt if salt is not None else generate_salt(now_ms),
            maker=funder,
            signer=funder if signature_type == SignatureType.POLY_1271 else self.address,
            token_id=token_id,
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            side=side,
            signature_type=signature_type,
            timestamp_ms=timestamp_ms if timestamp_ms is not None else now_ms,
            metadata=metadata,
            builder=builder,
            expiration=expiration,
        )


def generate_salt(now_ms: int | None = None) -> int:
    """A salt drawn like the official client: uniform integer in ``[0, now_ms)``."""
    bound = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    return secrets.randbelow(max(bound, 1))


def _split_poly_1271(blob: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    if len(blob) < 65 + 64 + 2:
        raise InvalidSignatureError("POLY_1271 signature too short")
    type_len = int.from_bytes(blob[-2:], "big")
    if len(blob) != 65 + 64 + type_len + 2:
        raise InvalidSignatureError("POLY_1271 signature length does not match its contents type")
    return blob[:65], blob[65:97], blob[97:129], blob[129 : 129 + type_len]


def recover_order_signer(order: Order, signature: str | bytes, domain: ExchangeDomain) -> str:
    """Checksummed address whose key produced ``signature`` over ``order`` in ``domain``.

    Types 0-2: the EOA that signed the order digest; valid iff it equals ``order.signer``.
    Type 3: the EOA that signed the deposit-wallet envelope, after checking the envelope names this
    domain, this order and the V2 order type; the wallet (``order.signer``) must recognise that EOA.
    Raises :class:`InvalidSignatureError` when the signature cannot belong to this order at all.
    """
    raw = hex_to_bytes(signature) if isinstance(signature, str) else signature
    struct_hash = order_struct_hash(order)
    if order.signature_type == SignatureType.POLY_1271:
        inner, app_sep, contents, contents_type = _split_poly_1271(raw)
        if app_sep != domain.separator:
            raise InvalidSignatureError("POLY_1271 signature is for another exchange domain")
        if contents != struct_hash:
            raise InvalidSignatureError("POLY_1271 signature is for another order")
        if contents_type != _ORDER_TYPE_BYTES:
            raise InvalidSignatureError("POLY_1271 signature has an unexpected contents type")
        return recover_address(_poly_1271_digest(struct_hash, order.signer, domain), inner)
    return recover_address(keccak256(b"\x19\x01" + domain.separator + struct_hash), raw)


def verify_order_signature(
    order: Order, signature: str | bytes, domain: ExchangeDomain, *, wallet_owner: str | None = None
) -> bool:
    """True iff ``signature`` authorises ``order`` in ``domain``.

    Types 0-2: the ECDSA signer must be ``order.signer``. POLY_1271: the wallet contract decides; pass
    the EOA that owns the wallet (``order.signer``) as ``wallet_owner`` to check it off-chain, without it
    the answer is False.
    """
    if order.signature_type == SignatureType.POLY_1271:
        expected = wallet_owner
        if expected is None:
            return False
    else:
        expected = order.signer
    try:
        return recover_order_signer(order, signature, domain).lower() == expected.lower()
    except (InvalidSignatureError, ValueError):
        return False


def order_to_wire_json(
    signed: SignedOrder,
    owner: str,
    order_type: str = "GTC",
    *,
    post_only: bool = False,
    defer_exec: bool = False,
) -> dict[str, Any]:
    """``POST /order`` body exactly as py_clob_client_v2 ``order_to_json_v2`` builds it."""
    o = signed.order
    return {
        "order": {
            "salt": o.salt,
            "maker": o.maker,
            "signer": o.signer,
            "tokenId": str(o.token_id),
            "makerAmount": str(o.maker_amount),
            "takerAmount": str(o.taker_amount),
            "side": "BUY" if o.side == Side.BUY else "SELL",
            "expiration": str(o.expiration),
            "signatureType": int(o.signature_type),
            "timestamp": str(o.timestamp_ms),
            "metadata": o.metadata,
            "builder": o.builder,
            "signature": signed.signature,
        },
        "owner": owner,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }
