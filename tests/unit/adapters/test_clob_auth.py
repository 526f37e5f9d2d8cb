"""L1 (ClobAuth EIP-712) and L2 (HMAC) headers: vectors, equality with py_clob_client_v2, verification."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import ApiCreds as SdkCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.signer import Signer as SdkSigner

from polyhunter.adapters.polymarket.auth import (
    POLY_ADDRESS,
    POLY_API_KEY,
    POLY_NONCE,
    POLY_PASSPHRASE,
    POLY_SIGNATURE,
    POLY_TIMESTAMP,
    ApiCreds,
    AuthError,
    build_hmac_signature,
    clob_auth_domain_separator,
    l1_headers,
    l2_headers,
    sign_clob_auth,
    signing_path,
    verify_l1_headers,
    verify_l2_headers,
)
from polyhunter.adapters.polymarket.eip712 import keccak256
from tests.support.paths import FIXTURES

FIXTURE = FIXTURES / "auth" / "clob_auth.json"
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CREDS = ApiCreds(
    api_key="f8f7370d-52b6-b764-0776-48aa65b6ec0a",
    secret=base64.urlsafe_b64encode(bytes(range(32))).decode(),
    passphrase="pass-phrase-123",
)


def test_l1_typehash_and_domain_vector() -> None:
    type_hash = keccak256(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")
    assert type_hash.hex() == "52578c5c725a28a84fedc8c22aa47947822942f35b4dc350db028e45320e035c"
    sep = clob_auth_domain_separator(137)
    assert sep.hex() == "cfc66be2a3b30464cb3b588324101f660c9a205fa76e8e5f83ee16a528e1c4cb"


def test_l1_polyoxide_fixture_vector() -> None:
    fx = json.loads(FIXTURE.read_text())
    assert fx["address"] == ADDR0
    sig = sign_clob_auth(KEY0, fx["chain_id"], fx["timestamp"], fx["nonce"])
    assert sig == fx["signature"]
    headers = l1_headers(KEY0, fx["chain_id"], timestamp=fx["timestamp"], nonce=fx["nonce"])
    assert headers == {
        POLY_ADDRESS: ADDR0,
        POLY_SIGNATURE: fx["signature"],
        POLY_TIMESTAMP: "1700000000",
        POLY_NONCE: "42",
    }
    assert verify_l1_headers(headers, 137) == (ADDR0, 42)


def test_l1_pcc2_vector() -> None:
    expected = (
        "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1"
        "682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b"
    )
    assert sign_clob_auth(KEY0, 80002, 10000000, 23) == expected


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([(KEY0, 137), (KEY1, 137), (KEY1, 80002)]),
    st.integers(0, 2**40),
    st.integers(0, 2**64),
)
def test_l1_headers_equal_official_client(key_chain: tuple[str, int], ts: int, nonce: int) -> None:
    key, chain = key_chain
    ours = l1_headers(key, chain, timestamp=ts, nonce=nonce)
    assert ours == create_level_1_headers(SdkSigner(key, chain), nonce=nonce, timestamp=ts)
    assert verify_l1_headers(ours, chain)[1] == nonce


def test_l1_verification_rejects_tampering() -> None:
    good = l1_headers(KEY0, 137, timestamp=1_800_000_000, nonce=0)
    assert verify_l1_headers(good, 137, now_s=1_800_000_010, max_skew_s=30)[0] == ADDR0
    cases = [
        {**good, POLY_ADDRESS: ADDR1},
        {**good, POLY_TIMESTAMP: "1800000001"},
        {**good, POLY_NONCE: "1"},
        {**good, POLY_SIGNATURE: good[POLY_SIGNATURE][:-2] + "1c"},
        {**good, POLY_SIGNATURE: "0x1234"},
        {**good, POLY_TIMESTAMP: "-5"},
        {k: v for k, v in good.items() if k != POLY_SIGNATURE},
    ]
    for headers in cases:
        with pytest.raises(AuthError):
            verify_l1_headers(headers, 137)
    with pytest.raises(AuthError):
        verify_l1_headers(good, 80002)  # another chain's domain
    with pytest.raises(AuthError, match="away"):
        verify_l1_headers(good, 137, now_s=1_800_000_100, max_skew_s=30)
    # Header names are case-insensitive on the wire.
    assert verify_l1_headers({k.lower(): v for k, v in good.items()}, 137)[0] == ADDR0
    # A missing nonce means 0, as the SDK sends by default.
    assert verify_l1_headers({k: v for k, v in good.items() if k != POLY_NONCE}, 137)[1] == 0


def test_hmac_reference_vector() -> None:
    sig = build_hmac_signature(
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "1000000", "test-sign", "/orders", '{"hash": "0x123"}'
    )
    assert sig == "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="


def test_signing_path_drops_query() -> None:
    assert signing_path("/data/trades?next_cursor=MA==&market=0x1") == "/data/trades"
    assert signing_path("/order") == "/order"
    with_query = l2_headers(ADDR0, CREDS, "GET", "/data/trades?next_cursor=MA==", timestamp=5)
    assert with_query == l2_headers(ADDR0, CREDS, "GET", "/data/trades", timestamp=5)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.sampled_from(["/order", "/orders", "/data/trades", "/cancel-all", "/auth/api-keys"]),
    st.one_of(st.none(), st.text(max_size=200)),
    st.integers(0, 2**40),
)
def test_l2_headers_equal_official_client(method: str, path: str, body: str | None, ts: int) -> None:
    ours = l2_headers(ADDR0, CREDS, method, path, body, timestamp=ts)
    sdk = create_level_2_headers(
        SdkSigner(KEY0, 137),
        SdkCreds(api_key=CREDS.api_key, api_secret=CREDS.secret, api_passphrase=CREDS.passphrase),
        RequestArgs(method=method, request_path=path, body=None, serialized_body=body),
        timestamp=ts,
    )
    assert ours == sdk
    owner, creds = verify_l2_headers(ours, {CREDS.api_key: (ADDR0, CREDS)}.get, method, path, body)
    assert (owner, creds) == (ADDR0, CREDS)


def test_l2_verification_rejects_tampering() -> None:
    body = '{"orderID":"0xabc"}'
    good = l2_headers(ADDR0, CREDS, "DELETE", "/order", body, timestamp=1_800_000_000)
    other = ApiCreds(api_key="other-key", secret=base64.urlsafe_b64encode(b"x" * 32).decode(), passphrase="p")
    registry = {CREDS.api_key: (ADDR0, CREDS), other.api_key: (ADDR1, other)}
    verify_l2_headers(good, registry.get, "DELETE", "/order?x=1", body, now_s=1_800_000_005, max_skew_s=30)
    request_changes = [
        ("POST", "/order", body),
        ("DELETE", "/orders", body),
        ("DELETE", "/order", '{"orderID":"0xabd"}'),
        ("DELETE", "/order", None),
    ]
    for method, path, sent_body in request_changes:
        with pytest.raises(AuthError, match="bad L2 signature"):
            verify_l2_headers(good, registry.get, method, path, sent_body)
    header_changes = [
        ({POLY_API_KEY: "nope"}, "unknown API key"),
        ({POLY_API_KEY: other.api_key}, "passphrase"),
        ({POLY_PASSPHRASE: "wrong"}, "passphrase"),
        ({POLY_ADDRESS: ADDR1}, "owner"),
        ({POLY_TIMESTAMP: "1800000001"}, "bad L2 signature"),
        ({POLY_TIMESTAMP: "abc"}, "integer"),
        ({POLY_SIGNATURE: ""}, "missing"),
    ]
    for change, message in header_changes:
        with pytest.raises(AuthError, match=message):
            verify_l2_headers({**good, **change}, registry.get, "DELETE", "/order", body)
    with pytest.raises(AuthError, match="away"):
        verify_l2_headers(good, registry.get, "DELETE", "/order", body, now_s=1_800_001_000, max_skew_s=30)


def test_creds_repr_hides_secrets() -> None:
    text = repr(CREDS)
    assert CREDS.secret not in text
    assert CREDS.passphrase not in text
    assert CREDS.api_key in text
