"""Order signer: known vectors, byte-identity with py_clob_client_v2, recovery and tampering."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, OrderDataV2
from py_clob_client_v2.order_utils import Side as SdkSide
from py_clob_client_v2.order_utils import SignatureTypeV2 as SdkSigType
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer as SdkSigner

from polyhunter.adapters.polymarket.eip712 import (
    InvalidSignatureError,
    keccak256,
    recover_address,
    to_checksum_address,
)
from polyhunter.adapters.polymarket.order_signer import (
    ORDER_TYPE_HASH,
    ORDER_TYPE_STRING,
    ExchangeDomain,
    Order,
    OrderSigner,
    SignatureType,
    address_from_private_key,
    domain_separator,
    exchange_domain,
    generate_salt,
    order_hash,
    order_to_wire_json,
    recover_order_signer,
    verify_order_signature,
)
from polyhunter.domain.signal import Side

ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]
ANVIL_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
]
SIGNERS = [OrderSigner(k) for k in ANVIL_KEYS]
SDK_SIGNERS: dict[tuple[int, int], SdkSigner] = {}


def sdk_signer(index: int, chain_id: int) -> SdkSigner:
    if (index, chain_id) not in SDK_SIGNERS:
        SDK_SIGNERS[index, chain_id] = SdkSigner(ANVIL_KEYS[index], chain_id)
    return SDK_SIGNERS[index, chain_id]


def test_type_hash_and_known_domain_separators() -> None:
    assert ORDER_TYPE_HASH.hex() == "bb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589"
    expected = {
        (2, False): "3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2",
        (2, True): "9b858f53327b0bd13af8ec14cfb35234fb9eb7b0504d1a4e61f433840d30e81a",
        (3, False): "466c63910185bbd55e8679264200c4e0abdcbb0c6264eb3d41d13326022e095b",
    }
    for (version, neg_risk), sep in expected.items():
        assert exchange_domain(137, version, neg_risk).separator.hex() == sep
    # V1 domains share the construction; the reference lists their separators too.
    v1 = domain_separator(137, "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e", "1")
    assert v1.hex() == "1a573e3617c78403b5b4b892827992f027b03d4eaf570048b8ee8cdd84d151be"
    v1_nr = domain_separator(137, "0xc5d563a36ae78145c45a50134d48a1215220f80a", "1")
    assert v1_nr.hex() == "82cb6aa85babb812f4b521a12b10f0cbc68d2b44be7bc02c047004f544adb49f"


def test_domain_rejects_unknown_version_and_chain() -> None:
    with pytest.raises(ValueError, match="version"):
        ExchangeDomain(137, "0xE111180000d2663C0091e4f400237545B87B996B", "1")
    with pytest.raises(ValueError, match="chain"):
        exchange_domain(1)
    with pytest.raises(ValueError, match="order version"):
        exchange_domain(137, 4)


def test_keccak_and_addresses() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    for key, address in zip(ANVIL_KEYS, ANVIL_ADDRESSES, strict=True):
        assert address_from_private_key(key) == address
        assert address_from_private_key(bytes.fromhex(key[2:])) == address
        assert to_checksum_address(address.lower()) == address
    with pytest.raises(ValueError, match="32 bytes"):
        address_from_private_key("0x1234")


def _orders() -> st.SearchStrategy[dict[str, Any]]:
    bytes32 = st.one_of(st.just(bytes(32)), st.binary(min_size=32, max_size=32))
    return st.fixed_dictionaries(
        {
            "key": st.integers(0, len(ANVIL_KEYS) - 1),
            "chain_id": st.sampled_from([137, 80002]),
            "version": st.sampled_from([2, 3]),
            "neg_risk": st.booleans(),
            "sig_type": st.sampled_from([0, 1, 2, 3]),
            "funder": st.binary(min_size=20, max_size=20),
            "token_id": st.integers(0, 2**256 - 1),
            "maker_amount": st.integers(0, 2**96),
            "taker_amount": st.integers(0, 2**96),
            "side": st.sampled_from([Side.BUY, Side.SELL]),
            "salt": st.integers(0, 2**64),
            "timestamp": st.integers(1, 2**48),
            "metadata": bytes32,
            "builder": bytes32,
            "expiration": st.integers(0, 2**40),
        }
    )


def _build_pair(d: dict[str, Any]) -> tuple[Order, ExchangeDomain, Any, ExchangeOrderBuilderV2]:
    ours = SIGNERS[d["key"]]
    funder = to_checksum_address(d["funder"]) if d["sig_type"] else ours.address
    sig_type = SignatureType(d["sig_type"])
    domain = exchange_domain(d["chain_id"], d["version"], d["neg_risk"])
    order = ours.build(
        maker=funder,
        token_id=d["token_id"],
        maker_amount=d["maker_amount"],
        taker_amount=d["taker_amount"],
        side=d["side"],
        signature_type=sig_type,
        metadata="0x" + d["metadata"].hex(),
        builder="0x" + d["builder"].hex(),
        expiration=d["expiration"],
        salt=d["salt"],
        timestamp_ms=d["timestamp"],
    )
    sdk_builder = ExchangeOrderBuilderV2(
        domain.verifying_contract,
        d["chain_id"],
        sdk_signer(d["key"], d["chain_id"]),
        generate_salt=lambda: str(d["salt"]),
        domain_version=domain.version,
    )
    sdk_data = OrderDataV2(
        maker=funder,
        tokenId=str(d["token_id"]),
        makerAmount=str(d["maker_amount"]),
        takerAmount=str(d["taker_amount"]),
        side=SdkSide.BUY if d["side"] == Side.BUY else SdkSide.SELL,
        signer=order.signer,
        signatureType=SdkSigType(d["sig_type"]),
        timestamp=str(d["timestamp"]),
        metadata="0x" + d["metadata"].hex(),
        builder="0x" + d["builder"].hex(),
        expiration=str(d["expiration"]),
    )
    return order, domain, sdk_data, sdk_builder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_orders())
def test_byte_identical_to_official_client(d: dict[str, Any]) -> None:
    order, domain, sdk_data, sdk_builder = _build_pair(d)
    signed = SIGNERS[d["key"]].sign(order, domain)
    sdk_signed = sdk_builder.build_signed_order(sdk_data)

    assert signed.signature == sdk_signed.signature
    typed = sdk_builder.build_order_typed_data(sdk_builder.build_order(sdk_data))
    assert signed.order_hash == sdk_builder.build_order_hash(typed) == order_hash(order, domain)
    for order_type, post_only, defer in (("GTC", False, False), ("GTD", True, True), ("FAK", False, True)):
        assert order_to_wire_json(
            signed, "owner-uuid", order_type, post_only=post_only, defer_exec=defer
        ) == order_to_json_v2(sdk_signed, "owner-uuid", order_type, post_only=post_only, defer_exec=defer)
        ours_keys = list(order_to_wire_json(signed, "o", order_type)["order"])
        assert ours_keys == list(order_to_json_v2(sdk_signed, "o", order_type)["order"])

    # The signature recovers the signing EOA; any change to a signed field breaks it.
    signer_eoa = SIGNERS[d["key"]].address
    assert recover_order_signer(order, signed.signature, domain) == signer_eoa
    assert verify_order_signature(order, signed.signature, domain) == (d["sig_type"] != 3)
    if d["sig_type"] == 3:
        assert verify_order_signature(order, signed.signature, domain, wallet_owner=signer_eoa)
        other = ANVIL_ADDRESSES[(d["key"] + 1) % 3]
        assert not verify_order_signature(order, signed.signature, domain, wallet_owner=other)
    tampered = dataclasses.replace(order, maker_amount=order.maker_amount + 1)
    try:
        assert recover_order_signer(tampered, signed.signature, domain) != signer_eoa
    except InvalidSignatureError:
        assert d["sig_type"] == 3  # the 1271 envelope names the exact order
    assert not verify_order_signature(tampered, signed.signature, domain)
    # Expiration is not signed in V2/V3.
    moved = dataclasses.replace(order, expiration=order.expiration + 1)
    assert recover_order_signer(moved, signed.signature, domain) == signer_eoa


def test_each_field_and_domain_is_covered_by_the_signature() -> None:
    signer = SIGNERS[0]
    domain = exchange_domain(137, 2, False)
    order = signer.build(
        maker=None,
        token_id=123,
        maker_amount=2_650_000,
        taker_amount=5_000_000,
        side=Side.BUY,
        salt=479249096354,
        timestamp_ms=1710000000000,
    )
    sig = signer.sign(order, domain).signature
    assert recover_order_signer(order, sig, domain) == signer.address
    changes: dict[str, Any] = {
        "salt": 1,
        "maker": ANVIL_ADDRESSES[1],
        "token_id": 124,
        "maker_amount": 2_650_001,
        "taker_amount": 4_999_999,
        "side": Side.SELL,
        "signature_type": SignatureType.POLY_PROXY,
        "timestamp_ms": 1710000000001,
        "metadata": "0x" + "00" * 31 + "01",
        "builder": "0x" + "11" * 32,
    }
    for name, value in changes.items():
        assert not verify_order_signature(dataclasses.replace(order, **{name: value}), sig, domain), name
    for other in (exchange_domain(137, 2, True), exchange_domain(137, 3), exchange_domain(80002, 3)):
        assert not verify_order_signature(order, sig, other)
    # A flipped byte in r/s either fails to recover or recovers someone else.
    bad = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    assert not verify_order_signature(order, bad, domain)
    with pytest.raises(InvalidSignatureError):
        recover_order_signer(order, sig[:-2], domain)
    with pytest.raises(InvalidSignatureError):
        recover_order_signer(order, sig[:-2] + "05", domain)


def test_signer_must_match_key_except_poly_1271() -> None:
    domain = exchange_domain(137)
    order = SIGNERS[0].build(
        maker=None, token_id=1, maker_amount=1, taker_amount=1, side=Side.BUY, salt=1, timestamp_ms=1
    )
    with pytest.raises(ValueError, match="signer does not match"):
        SIGNERS[1].sign(order, domain)
    wallet = ANVIL_ADDRESSES[2]
    order_1271 = SIGNERS[0].build(
        maker=wallet,
        token_id=1,
        maker_amount=1,
        taker_amount=1,
        side=Side.SELL,
        signature_type=SignatureType.POLY_1271,
        salt=1,
        timestamp_ms=1,
    )
    assert order_1271.signer == wallet
    signed = SIGNERS[0].sign(order_1271, domain)
    assert len(bytes.fromhex(signed.signature[2:])) == 65 + 32 + 32 + len(ORDER_TYPE_STRING) + 2
    assert recover_order_signer(order_1271, signed.signature, domain) == SIGNERS[0].address
    with pytest.raises(InvalidSignatureError, match="domain"):
        recover_order_signer(order_1271, signed.signature, exchange_domain(137, 3))
    with pytest.raises(InvalidSignatureError, match="length"):
        recover_order_signer(order_1271, signed.signature[:-4] + "00ff", domain)


def test_a_contract_signed_order_is_the_keys_plain_signature_of_the_digest() -> None:
    """DIRECT mode: the proxy (maker and signer) checks a 65-byte signature of the order hash itself."""
    domain, proxy = exchange_domain(137), ANVIL_ADDRESSES[2]
    order = SIGNERS[0].build(
        maker=proxy,
        token_id=5,
        maker_amount=2_000_000,
        taker_amount=4_000_000,
        side=Side.BUY,
        signature_type=SignatureType.POLY_1271,
        salt=3,
        timestamp_ms=4,
    )
    signed = SIGNERS[0].sign_for_contract(order, domain)
    assert (order.maker, order.signer) == (proxy, proxy)
    assert signed.order_hash == order_hash(order, domain)
    raw = bytes.fromhex(signed.signature[2:])
    assert len(raw) == 65
    assert recover_address(bytes.fromhex(signed.order_hash[2:]), raw) == SIGNERS[0].address
    with pytest.raises(ValueError, match="signature type 3"):
        SIGNERS[0].sign_for_contract(dataclasses.replace(order, signature_type=SignatureType.EOA), domain)
    with pytest.raises(ValueError, match="signer is its maker"):
        SIGNERS[0].sign_for_contract(dataclasses.replace(order, signer=ANVIL_ADDRESSES[0]), domain)


def test_build_defaults_and_salt_range() -> None:
    signer = SIGNERS[1]
    order = signer.build(maker=None, token_id=7, maker_amount=1, taker_amount=2, side=Side.SELL)
    assert order.maker == order.signer == signer.address
    assert 0 <= order.salt < order.timestamp_ms
    assert order.timestamp_ms > 1_700_000_000_000
    salts = {generate_salt(1_000_000) for _ in range(50)}
    assert len(salts) > 40
    assert all(0 <= s < 1_000_000 for s in salts)
    assert "ac0974" not in repr(SIGNERS[0])


def test_order_fields_are_validated() -> None:
    base = SIGNERS[0].build(
        maker=None, token_id=1, maker_amount=1, taker_amount=1, side=Side.BUY, salt=1, timestamp_ms=1
    )
    with pytest.raises(ValueError, match="uint256"):
        dataclasses.replace(base, maker_amount=-1)
    with pytest.raises(ValueError, match="uint256"):
        dataclasses.replace(base, token_id=2**256)
    with pytest.raises(ValueError, match="SignatureType"):
        dataclasses.replace(base, signature_type=4)  # type: ignore[arg-type]  # a raw int, refused at run time
    with pytest.raises(ValueError, match="Side"):
        dataclasses.replace(base, side="HOLD")  # type: ignore[arg-type]  # a raw str, refused at run time
    coerced = dataclasses.replace(base, side="SELL", signature_type=2)  # type: ignore[arg-type]  # raw values, coerced
    assert coerced.side is Side.SELL
    assert coerced.signature_type is SignatureType.POLY_GNOSIS_SAFE
