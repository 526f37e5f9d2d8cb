"""Custody types come from one registry: a type registered there (here a test-only PROXY custody in place
of the built-in one) is accepted by the run file, checked with its own rules, provisioned with its own
wallet, and built."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.adapters.polymarket.funder_wallets import safe_of
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.execution.paper import PaperExecutor
from polyhunter.execution.registry import CUSTODY, BuildContext, CustodyType, NewWallet, ValueContext
from polyhunter.ports.venue import Executor
from polyhunter.runtime.identity_checks import address_of_key
from polyhunter.runtime.provision import Provisioned, provision
from polyhunter.runtime.run_file import FollowerSpec, load_run_file
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings, SettingsError
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.enums import WalletKind

LEADER = "0x" + "ab" * 20
PROXY_WALLET = "0x" + "77" * 20


def _check(spec: FollowerSpec) -> list[tuple[str, str]]:
    return [] if spec.funder else [("funder", "PROXY custody needs funder (the proxy address)")]


def _wallet(spec: FollowerSpec) -> NewWallet:
    assert spec.funder is not None
    return NewWallet(spec.funder.lower(), WalletKind.PROXY)


async def _build(ctx: BuildContext, followers: Sequence[Provisioned]) -> Executor:
    return PaperExecutor(ctx.book)


async def _value(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    return Decimal(0)


TEST_PROXY = CustodyType(
    mode=CustodyMode.PROXY,
    wallet_kind=WalletKind.PROXY,
    accepts=frozenset({"funder"}),
    requires=frozenset({"funder"}),
    check=_check,
    wallet=_wallet,
    build=_build,
    positions_value=_value,
    equity=_value,
    label="test proxy",
)


@contextmanager
def _without_builtin_proxy() -> Iterator[None]:
    builtin = CUSTODY.get(CustodyMode.PROXY)
    CUSTODY.unregister(CustodyMode.PROXY)
    try:
        yield
    finally:
        CUSTODY.unregister(CustodyMode.PROXY)
        CUSTODY.register(builtin)


@pytest.fixture
def proxy_custody() -> Iterator[CustodyType]:
    with _without_builtin_proxy(), CUSTODY.registered(TEST_PROXY) as custody:
        yield custody


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(f"""
[[followers]]
name = "carol"
custody = "PROXY"
{body}
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "FIXED_USDC"
  sizing_value = "10"
""")
    return path


def test_builtin_types_are_registered() -> None:
    assert CUSTODY.names() == ["PAPER", "EOA", "PROXY"]
    assert CUSTODY.get("PAPER").wallet_kind is WalletKind.PAPER
    assert CUSTODY.get(CustodyMode.EOA).requires == {"private_key_env"}
    assert CUSTODY.get(CustodyMode.PROXY).requires == {"proxy"}
    assert CUSTODY.get(CustodyMode.PROXY).wallet_kind is WalletKind.PROXY
    with (
        _without_builtin_proxy(),
        pytest.raises(LookupError, match="no custody PROXY registered; one of: PAPER, EOA"),
    ):
        CUSTODY.get("PROXY")


def test_the_builtin_proxy_custody_needs_its_proxy_address(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"followers\[0\] \(carol\)\.proxy: PROXY custody needs proxy"):
        load_run_file(_write(tmp_path, ""))
    with pytest.raises(SettingsError, match=r"proxy"):
        load_run_file(_write(tmp_path, 'proxy = "0x1234"'))
    run = load_run_file(_write(tmp_path, f'proxy = "{PROXY_WALLET}"'))
    assert run.followers[0].proxy == PROXY_WALLET


def test_an_unregistered_custody_is_refused_by_the_run_file(tmp_path: Path) -> None:
    with (
        _without_builtin_proxy(),
        pytest.raises(SettingsError, match=r"custody: Input should be 'PAPER' or 'EOA'"),
    ):
        load_run_file(_write(tmp_path, f'funder = "{PROXY_WALLET}"'))


def test_a_registered_type_is_checked_with_its_own_rules(tmp_path: Path, proxy_custody: CustodyType) -> None:
    with pytest.raises(SettingsError, match=r"followers\[0\] \(carol\)\.funder: PROXY custody needs funder"):
        load_run_file(_write(tmp_path, ""))
    run = load_run_file(_write(tmp_path, f'funder = "{PROXY_WALLET}"'))
    assert run.followers[0].custody is CustodyMode.PROXY


def test_registering_a_mode_twice_is_refused(proxy_custody: CustodyType) -> None:
    with pytest.raises(ValueError, match="already registered"):
        CUSTODY.register(TEST_PROXY)
    assert "PROXY" in CUSTODY


async def test_a_registered_type_is_provisioned_with_its_wallet(
    tmp_path: Path, proxy_custody: CustodyType
) -> None:
    run = load_run_file(_write(tmp_path, f'funder = "{PROXY_WALLET}"'))
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    try:
        sessions = create_session_factory(engine)
        box = SecretBox(generate_master_key())
        (carol,) = await provision(sessions, box, run)
        again = await provision(sessions, box, run)  # idempotent
    finally:
        await engine.dispose()
    assert carol.wallet.address == PROXY_WALLET
    assert carol.wallet.kind is WalletKind.PROXY
    assert carol.wallet.private_key is None
    assert len(carol.config_ids) == 1
    assert [(f.user_id, f.wallet.id, f.config_ids) for f in again] == [
        (carol.user_id, carol.wallet.id, carol.config_ids)
    ]


async def test_a_proxy_switched_to_direct_keeps_its_wallet_and_changes_its_signature_type(
    tmp_path: Path,
) -> None:
    """DIRECT is PROXY custody whose proxy wallet signs with type 3: switching a follower between the two
    modes in the run file changes that row in place (same wallet, same config)."""
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    try:
        sessions = create_session_factory(engine)
        box = SecretBox(generate_master_key())
        seen = []
        for custody in ("PROXY", "DIRECT", "DIRECT", "PROXY"):
            path = _write(tmp_path, f'proxy = "{PROXY_WALLET}"').read_text()
            (tmp_path / "run.toml").write_text(path.replace('custody = "PROXY"', f'custody = "{custody}"'))
            (carol,) = await provision(sessions, box, load_run_file(tmp_path / "run.toml"))
            seen.append((carol.wallet.id, carol.wallet.signature_type, carol.config_ids, carol.spec.direct))
    finally:
        await engine.dispose()
    wallet, config = seen[0][0], seen[0][2]
    assert seen == [
        (wallet, 0, config, False),
        (wallet, 3, config, True),
        (wallet, 3, config, True),
        (wallet, 0, config, False),
    ]


async def test_an_own_wallet_whose_signature_type_and_funder_change_is_updated_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run file is the truth for how an own wallet signs: a second start with another signature
    type and funder updates the wallet row (it kept the first ones, silently, before)."""
    monkeypatch.setenv("DAVE_KEY", "0x" + "11" * 32)
    funder = safe_of(address_of_key("0x" + "11" * 32))  # the key's own Safe
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    seen = []
    try:
        sessions = create_session_factory(engine)
        box = SecretBox(generate_master_key())
        for signing in (
            "signature_type = 0",
            f'signature_type = 2\nfunder = "{funder}"',
            "signature_type = 0",
        ):
            (tmp_path / "run.toml").write_text(
                '[[followers]]\nname = "dave"\ncustody = "EOA"\nprivate_key_env = "DAVE_KEY"\n'
                f'{signing}\n[[followers.copies]]\nleader = "0x{"ab" * 20}"\n'
                'sizing = "FIXED_USDC"\nsizing_value = "5"\n'
            )
            (dave,) = await provision(sessions, box, load_run_file(tmp_path / "run.toml"))
            seen.append((dave.wallet.id, dave.wallet.signature_type, dave.wallet.funder_address))
    finally:
        await engine.dispose()
    wallet = seen[0][0]
    assert seen == [(wallet, 0, None), (wallet, 2, funder), (wallet, 0, None)]
