"""`polyhunter run --config FILE`: what a run file may say, and errors that name the key at fault."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.runtime.run_file import FollowerSpec, load_run_file
from polyhunter.settings import SettingsError

LEADER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20


def _load(tmp_path: Path, text: str) -> str:
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_run_file(path)
    return str(err.value)


def test_a_valid_file_with_follower_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOB_KEY", "0x" + "11" * 32)
    path = tmp_path / "run.toml"
    path.write_text(f"""
[[followers]]
name = "alice"
custody = "PAPER"
limits = {{ daily_cap_usdc = "200", max_trade_usdc = "25" }}
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "FIXED_USDC"
  sizing_value = "10"
  [[followers.copies]]
  leader = "{OTHER}"
  sizing = "PROPORTIONAL"

[[followers]]
name = "bob"
custody = "EOA"
private_key_env = "BOB_KEY"
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "MULTIPLIER"
  sizing_value = "0.5"
""")
    run = load_run_file(path)
    alice, bob = run.followers
    assert (alice.limits.daily_cap_usdc, alice.limits.max_trade_usdc) == (Decimal(200), Decimal(25))
    assert bob.limits.daily_cap_usdc is None
    assert run.leaders() == sorted({LEADER, OTHER})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('colour = "red"', "followers[0] (alice).colour: Extra inputs are not permitted"),
        (
            'limits = { daily_cap = "5" }',
            "followers[0] (alice).limits.daily_cap: Extra inputs are not permitted",
        ),
        (
            'limits = { max_trade_usdc = "-1" }',
            "followers[0] (alice).limits.max_trade_usdc: Input should be greater",
        ),
        (
            'custody = "SAFE"',
            "followers[0] (alice).custody: Input should be 'PAPER', 'EOA', 'PROXY' or 'DIRECT'",
        ),
        ('custody = "PROXY"', "followers[0] (alice).proxy: PROXY custody needs proxy"),
        ('custody = "DIRECT"', "followers[0] (alice).proxy: DIRECT custody needs proxy"),
        (
            'custody = "DIRECT"\nsignature_type = 2',
            "followers[0] (alice): custody DIRECT signs with signature_type 3",
        ),
        (
            'custody = "PROXY"\nsignature_type = 1',
            "followers[0] (alice).signature_type: PROXY custody signs with 0 (fleet float) or 3",
        ),
    ],
)
def test_bad_follower_keys_are_named(tmp_path: Path, body: str, expected: str) -> None:
    text = f'[[followers]]\nname = "alice"\n{body}\n[[followers.copies]]\nleader = "{LEADER}"\nsizing = "PROPORTIONAL"\n'
    assert expected in _load(tmp_path, text)


def test_direct_is_proxy_custody_whose_proxy_makes_its_orders(tmp_path: Path) -> None:
    proxy = "0x" + "ab" * 20
    path = tmp_path / "run.toml"
    path.write_text(
        f'[[followers]]\nname = "d"\ncustody = "DIRECT"\nproxy = "{proxy}"\n'
        f'[[followers.copies]]\nleader = "{LEADER}"\nsizing = "PROPORTIONAL"\n'
    )
    (spec,) = load_run_file(path).followers
    assert (spec.custody, spec.signature_type, spec.direct, spec.custody_name) == (
        CustodyMode.PROXY,
        3,
        True,
        "DIRECT",
    )
    again = FollowerSpec.model_validate(spec.model_dump())  # stored and read back: the same follower
    assert again.direct


@pytest.mark.parametrize(
    ("copy", "expected"),
    [
        ('sizng = "FIXED_USDC"', "followers[0] (alice).copies[0].sizng: Extra inputs are not permitted"),
        ('sizing = "FIXED"', "followers[0] (alice).copies[0].sizing: Input should be"),
        ('sizing = "FIXED_USDC"', "followers[0] (alice).copies[0]: FIXED_USDC needs a positive sizing_value"),
        (
            'sizing = "PROPORTIONAL"\nmin_price = "0.9"\nmax_price = "0.1"',
            "followers[0] (alice).copies[0]: price bounds",
        ),
        (
            'sizing = "PROPORTIONAL"\nact_on = "soon"',
            "followers[0] (alice).copies[0].act_on: Input should be 'pending' or 'confirmed'",
        ),
    ],
)
def test_bad_copy_keys_are_named(tmp_path: Path, copy: str, expected: str) -> None:
    text = f'[[followers]]\nname = "alice"\n[[followers.copies]]\nleader = "{LEADER}"\n{copy}\n'
    assert expected in _load(tmp_path, text)


def test_a_second_config_for_the_same_leader_is_refused(tmp_path: Path) -> None:
    copy = f'[[followers.copies]]\nleader = "{LEADER}"\nsizing = "PROPORTIONAL"\n'
    message = _load(
        tmp_path,
        f'[[followers]]\nname = "alice"\n{copy}{copy.replace(LEADER, LEADER.upper().replace("0X", "0x"))}',
    )
    assert (
        f"followers[0] (alice).copies[1].leader: {LEADER} is already copied by this follower (copies[0])"
        in message
    )


def test_a_repeated_follower_name_is_refused(tmp_path: Path) -> None:
    follower = '[[followers]]\nname = "alice"\n'
    assert "followers[1] (alice).name: follower 'alice' is already defined at followers[0]" in _load(
        tmp_path, follower + follower
    )


def test_missing_env_var_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_KEY", raising=False)
    text = '[[followers]]\nname = "bob"\ncustody = "EOA"\nprivate_key_env = "NOPE_KEY"\n'
    assert "followers[0] (bob).private_key_env: env var NOPE_KEY is not set" in _load(tmp_path, text)
    no_env = '[[followers]]\nname = "bob"\ncustody = "EOA"\n'
    assert "followers[0] (bob).private_key_env: EOA custody needs private_key_env" in _load(tmp_path, no_env)


def test_keys_never_go_in_files(tmp_path: Path) -> None:
    text = '[[followers]]\nname = "bob"\ncustody = "EOA"\nprivate_key = "0x11"\n'
    assert "followers[0] (bob).private_key: keys never go in files" in _load(tmp_path, text)


def test_act_on_is_read_and_defaults_to_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    copy = '[[followers.copies]]\nleader = "{}"\nsizing = "PROPORTIONAL"\n'
    path.write_text(
        '[[followers]]\nname = "alice"\n' + copy.format(LEADER) + 'act_on = "pending"\n' + copy.format(OTHER)
    )
    [alice] = load_run_file(path).followers
    assert [c.act_on.value for c in alice.copies] == ["pending", "confirmed"]
    assert [c.to_domain(1, alice.custody).act_on.value for c in alice.copies] == ["pending", "confirmed"]
