"""Run-file bounds (issue 13 item 3): every number finite and bounded, every address and key checked,
each refused with one line naming the key, at load (before anything is migrated or started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyhunter.adapters.polymarket.funder_wallets import proxy_wallet_of, safe_of
from polyhunter.runtime.identity_checks import address_of_key, checksum_address, parse_address
from polyhunter.runtime.run_file import load_run_file
from polyhunter.settings import SettingsError

LEADER = "0x" + "ab" * 20
KEY = "0x" + "11" * 32
SIGNER = address_of_key(KEY)
PROXY = safe_of(SIGNER)  # the key's own Safe (signature type 2)
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_run_file(path)
    return str(err.value)


def _copy(body: str, sizing: str = 'sizing = "FIXED_USDC"\nsizing_value = "10"') -> str:
    return f'[[followers]]\nname = "alice"\n[[followers.copies]]\nleader = "{LEADER}"\n{sizing}\n{body}\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("min_trade_usdc = -1", "copies[0].min_trade_usdc: Input should be greater than or equal to 0"),
        ("max_position_usdc = -5", "copies[0].max_position_usdc: Input should be greater than or equal"),
        ("max_trade_usdc = 1e308", "copies[0].max_trade_usdc: Input should be less than or equal to 1E+9"),
        ("max_slippage_bps = -1", "copies[0].max_slippage_bps: Input should be greater than or equal to 0"),
        ("max_slippage_bps = 1e9", "copies[0].max_slippage_bps: Input should be less than or equal to 10000"),
        ("min_trade_usdc = nan", "copies[0].min_trade_usdc: Input should be a finite number"),
        ('max_trade_usdc = "Infinity"', "copies[0].max_trade_usdc: Input should be a finite number"),
        ("max_price = inf", "copies[0].max_price: Input should be a finite number"),
    ],
)
def test_copy_numbers_are_bounded_and_finite(tmp_path: Path, body: str, expected: str) -> None:
    message = _error(tmp_path, _copy(body))
    assert f"followers[0] (alice).{expected}" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("sizing", "expected"),
    [
        (
            'sizing = "FIXED_USDC"\nsizing_value = 1e308',
            "sizing_value: must be at most 1000000000 for FIXED_USDC",
        ),
        (
            'sizing = "FIXED_USDC"\nsizing_value = "1e27"',
            "sizing_value: must be at most 1000000000 for FIXED_USDC",
        ),
        ('sizing = "MULTIPLIER"\nsizing_value = "5000"', "sizing_value: must be at most 1000 for MULTIPLIER"),
        (
            'sizing = "PROPORTIONAL"\nsizing_value = "1e6"',
            "sizing_value: must be at most 1000 for PROPORTIONAL",
        ),
        ('sizing = "MULTIPLIER"\nsizing_value = "NaN"', "sizing_value: Input should be a finite number"),
        ('sizing = "MULTIPLIER"\nsizing_value = -inf', "sizing_value: Input should be a finite number"),
    ],
)
def test_sizing_value_is_bounded_per_mode(tmp_path: Path, sizing: str, expected: str) -> None:
    assert f"followers[0] (alice).copies[0].{expected}" in _error(tmp_path, _copy("", sizing))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("starting_cash_usdc = -1000", "starting_cash_usdc: Input should be greater than or equal to 0"),
        ("starting_cash_usdc = 1e308", "starting_cash_usdc: Input should be less than or equal to 1E+9"),
        ('starting_cash_usdc = "NaN"', "starting_cash_usdc: Input should be a finite number"),
        ('limits = { daily_cap_usdc = "1e12" }', "limits.daily_cap_usdc: Input should be less than or equal"),
        ('funder = "0x1234"', "funder: Value error, must be an address: 0x + 40 hex digits"),
        ('private_key_env = "A B"', "private_key_env: String should match pattern"),
    ],
)
def test_follower_values_are_bounded(tmp_path: Path, body: str, expected: str) -> None:
    text = f'[[followers]]\nname = "alice"\n{body}\n'
    assert f"followers[0] (alice).{expected}" in _error(tmp_path, text)


@pytest.mark.parametrize("name", ["al\x1bice", "bob\n", "tab\there", " padded"])
def test_names_with_control_characters_are_refused(tmp_path: Path, name: str) -> None:
    text = f"[[followers]]\nname = {name!r}\n".replace("'", '"')
    message = _error(tmp_path, text.replace("\\x1b", "\\u001b"))
    assert "followers[0]" in message
    assert ".name: Value error, must not" in message


@pytest.mark.parametrize(
    ("leader", "expected"),
    [
        ("0x 4d4" + "4" * 36, "must be an address: 0x + 40 hex digits"),
        ("not-an-address", "must be an address"),
        ("0x1234", "must be an address"),
        ("0x" + "0" * 40, "must not be the zero address"),
        ("0x_" + "4" * 39, "must be an address"),
        ("0x" + "4D" * 20, None),  # all upper case: taken
        (checksum_address("ab" * 20), None),  # a valid EIP-55 checksum: taken
        (
            checksum_address("ab" * 20).swapcase().replace("0X", "0x"),
            "mixed-case address with a wrong EIP-55 checksum",
        ),
    ],
)
def test_leader_addresses_are_checked(tmp_path: Path, leader: str, expected: str | None) -> None:
    text = (
        f'[[followers]]\nname = "alice"\n[[followers.copies]]\nleader = "{leader}"\nsizing = "PROPORTIONAL"\n'
    )
    if expected is None:
        path = tmp_path / "run.toml"
        path.write_text(text)
        assert load_run_file(path).followers[0].copies[0].leader == leader.lower()
        return
    message = _error(tmp_path, text)
    assert f"followers[0] (alice).copies[0].leader: Value error, {expected}" in message
    assert len(message.splitlines()) == 1


def _eoa(extra: str = "") -> str:
    return f'[[followers]]\nname = "bob"\ncustody = "EOA"\nprivate_key_env = "BOB_KEY"\n{extra}\n'


@pytest.mark.parametrize(
    "key", ["0x1234", "not-a-key", "0x" + "00" * 32, hex(N), "0x" + "zz" * 32, "0x 1" + "1" * 63]
)
def test_keys_are_checked_without_showing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("BOB_KEY", key)
    message = _error(tmp_path, _eoa())
    assert message.endswith(
        (
            "followers[0] (bob).private_key_env: env var BOB_KEY is not a private key: 64 hex digits (0x optional) expected",
            "followers[0] (bob).private_key_env: env var BOB_KEY is not a private key: outside the secp256k1 range",
        )
    )
    assert key not in message or len(key) < 8


def test_the_key_must_give_the_configured_signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOB_KEY", KEY)
    path = tmp_path / "run.toml"
    path.write_text(_eoa(f'signer = "{checksum_address(SIGNER[2:])}"'))
    assert load_run_file(path).followers[0].signer == SIGNER
    message = _error(tmp_path, _eoa(f'signer = "{PROXY}"'))
    assert f"followers[0] (bob).signer: {PROXY} is not the address of the key in private_key_env" in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("signature_type = 1", "funder: signature_type 1 needs the funder (proxy / Safe) address"),
        (
            f'signature_type = 2\nfunder = "{SIGNER}"',
            "funder: signature_type 2 needs the proxy / Safe address",
        ),
        (
            'signature_type = 2\nfunder = "0x' + "0" * 40 + '"',
            "funder: Value error, must not be the zero address",
        ),
        ('signature_type = 1\nfunder = "not-an-address"', "funder: Value error, must be an address"),
    ],
)
def test_a_proxy_funder_is_a_different_valid_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, expected: str
) -> None:
    monkeypatch.setenv("BOB_KEY", KEY)
    assert f"followers[0] (bob).{expected}" in _error(tmp_path, _eoa(extra))


def test_a_proxy_follower_with_its_funder_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOB_KEY", KEY[2:])  # without 0x
    path = tmp_path / "run.toml"
    path.write_text(_eoa(f'signature_type = 2\nfunder = "{PROXY.upper().replace("0X", "0x")}"'))
    assert load_run_file(path).followers[0].funder == PROXY


def test_a_funder_that_is_not_the_keys_own_proxy_or_safe_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 3: a funder for signature types 1 and 2 must be the signer's proxy wallet or Safe
    (what the exchange checks); any other address, a stranger's or the Safe for type 1, is refused."""
    monkeypatch.setenv("BOB_KEY", KEY)
    stranger = "0x" + "cd" * 20
    message = _error(tmp_path, _eoa(f'signature_type = 1\nfunder = "{stranger}"'))
    assert (
        f"followers[0] (bob).funder: {stranger} is not the proxy wallet of this key's address {SIGNER}"
        in message
    )
    assert proxy_wallet_of(SIGNER) in message
    assert len(message.splitlines()) == 1
    message = _error(tmp_path, _eoa(f'signature_type = 1\nfunder = "{safe_of(SIGNER)}"'))
    assert "is not the proxy wallet of this key's address" in message
    message = _error(tmp_path, _eoa(f'signature_type = 2\nfunder = "{proxy_wallet_of(SIGNER)}"'))
    assert "is not the Safe of this key's address" in message
    path = tmp_path / "run.toml"
    path.write_text(_eoa(f'signature_type = 1\nfunder = "{proxy_wallet_of(SIGNER)}"'))
    assert load_run_file(path).followers[0].funder == proxy_wallet_of(SIGNER)


def test_parse_address_returns_lower_case() -> None:
    assert parse_address(checksum_address("ab" * 20)) == "0x" + "ab" * 20
    # The checksum of a well-known address (EIP-55's own example).
    assert (
        checksum_address("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
        == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    )


def test_a_funder_that_is_another_followers_wallet_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: bob with signature type 1 and alice's address as funder spent alice's funds."""
    alice_key = "0x" + "22" * 32
    monkeypatch.setenv("ALICE_KEY", alice_key)
    monkeypatch.setenv("BOB_KEY", KEY)
    alice = address_of_key(alice_key)
    text = (
        '[[followers]]\nname = "alice"\ncustody = "EOA"\nprivate_key_env = "ALICE_KEY"\n'
        '[[followers]]\nname = "bob"\ncustody = "EOA"\nprivate_key_env = "BOB_KEY"\n'
        f'signature_type = 1\nfunder = "{alice}"\n'
    )
    message = _error(tmp_path, text)
    assert f"followers[1] (bob).funder: {alice} is the wallet of followers[0] (alice)" in message
    # one line per error: that one, and that it is not bob's own proxy wallet
    assert len(message.splitlines()) == 2
    assert "is not the proxy wallet of this key's address" in message
