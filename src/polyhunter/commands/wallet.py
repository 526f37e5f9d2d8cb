"""`polyhunter wallet`: onboarding of an own (EOA) wallet.

* `wallet new --key-file FILE`: a new key, written to FILE (owner-only, never printed); prints the address.
* `wallet setup (--key-env NAME | --config RUNFILE [--follower NAME]) [--dry-run]`: wrap the wallet's
  USDC.e into pUSD, approve the exchanges and the neg-risk adapter (pUSD and outcome shares), then
  derive the CLOB API key and have the venue re-read the chain (`onboarding/wallet_setup.py`).
  `--dry-run` lists the transactions and sends nothing. Running it again sends only what is missing.

Exit code 0 when done, 1 when the chain or the venue refused (one line), 2 on bad settings or input.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.adapters.chain.wallet_contracts import MAX_UINT256
from polyhunter.adapters.polymarket.eip712 import address_from_private_key, parse_private_key
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.log import configure_logging
from polyhunter.onboarding.wallet_setup import SetupReport, WalletSetupError, load_key, setup_wallet
from polyhunter.runtime.run_file import FollowerSpec, RunFile, load_run_file
from polyhunter.settings import SettingsError, VenueSettings

__all__ = ["app"]

app = typer.Typer(help="Own-wallet onboarding: a new key, and the approvals and wrap a wallet needs.")


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("new")
def new(
    key_file: Annotated[
        Path, typer.Option("--key-file", help="Where to write the new key (must not exist).")
    ],
) -> None:
    """Create a new wallet key in KEY_FILE (mode 0600, never printed) and print its address."""
    while True:
        raw = secrets.token_bytes(32)
        try:
            parse_private_key(raw)
            break
        except ValueError:  # outside the curve's order: astronomically rare
            continue
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _fail(f"{key_file} exists: wallet new never overwrites a key", 2) from None
    except OSError as exc:
        raise _fail(f"{key_file}: {exc.strerror or exc}", 2) from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write("0x" + raw.hex() + "\n")
    typer.echo(address_from_private_key(raw))


def _allowance(text: str) -> int:
    if text.strip().lower() in ("max", "unlimited"):
        return MAX_UINT256
    try:
        amount = Decimal(text.strip()) * 1_000_000
        value = int(amount) if amount.is_finite() and amount == amount.to_integral_value() else -1
    except ArithmeticError:  # not a number (decimal.InvalidOperation)
        value = -1
    if not 0 < value < MAX_UINT256:
        raise typer.BadParameter(f"{text!r}: a positive USDC amount or 'max'")
    return value


def _followers(config: Path, name: str | None) -> list[FollowerSpec]:
    try:
        run: RunFile = load_run_file(config)
    except SettingsError as exc:
        raise _fail(str(exc).splitlines()[0], 2) from None
    own = [f for f in run.followers if f.custody is CustodyMode.EOA and (name is None or f.name == name)]
    if not own:
        which = f"no EOA follower named {name!r}" if name else "no EOA follower"
        raise _fail(f"{config}: {which}", 2)
    return own


def _report(report: SetupReport, as_json: bool, label: str) -> None:
    if as_json:
        typer.echo(json.dumps({"follower": label, **report.to_json()}))
    else:
        for line in report.lines():
            typer.echo(line)


@dataclass(frozen=True, slots=True)
class _Options:
    dry_run: bool
    wrap: bool
    allowance: int
    as_json: bool


def _one(venue: VenueSettings, key: str, label: str, opts: _Options, signature_type: int = 0) -> None:
    try:
        report = asyncio.run(
            setup_wallet(
                venue,
                key,
                dry_run=opts.dry_run,
                wrap=opts.wrap,
                allowance=opts.allowance,
                signature_type=signature_type,
            )
        )
    except WalletSetupError as exc:
        raise _fail(f"{label}: {exc}", 1) from None
    _report(report, opts.as_json, label)


@app.command("setup")
def setup(
    key_env: Annotated[
        str | None, typer.Option("--key-env", help="Name of the env var holding the wallet's key.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run file: set up its EOA followers' wallets.")
    ] = None,
    follower: Annotated[str | None, typer.Option(help="Only this follower of the run file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the transactions; send nothing.")] = False,
    wrap: Annotated[
        bool, typer.Option("--wrap/--no-wrap", help="Wrap the wallet's USDC.e into pUSD.")
    ] = True,
    allowance: Annotated[
        str, typer.Option(help="pUSD allowance for each spender: 'max' or a USDC amount.")
    ] = "max",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per wallet.")] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Wrap, approve and register a new own wallet on the chain node and venue the settings name."""
    if (key_env is None) == (config is None):
        raise _fail("give --key-env NAME or --config RUNFILE (one of them)", 2)
    if follower is not None and config is None:
        raise _fail("--follower goes with --config", 2)
    amount = _allowance(allowance)
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    # the command's own lines say what happened; retries and library chatter stay out of them
    configure_logging("ERROR", settings.logging.format, settings.secrets.secret_values())
    opts = _Options(dry_run, wrap, amount, as_json)
    if key_env is not None:
        try:
            key = load_key(os.environ.get(key_env), f"env var {key_env}")
        except WalletSetupError as exc:
            raise _fail(str(exc), 2) from None
        _one(settings.venue, key, key_env, opts)
        return
    assert config is not None
    for spec in _followers(config, follower):
        where = f"env var {spec.private_key_env}" if spec.private_key_env else "the key"
        try:
            key = load_key(os.environ.get(spec.private_key_env or ""), where)
        except WalletSetupError as exc:
            raise _fail(f"{spec.name}: {exc}", 2) from None
        if spec.funder is not None and spec.funder.lower() != address_from_private_key(key).lower():
            raise _fail(f"{spec.name}: funder {spec.funder} is not the key's address (a proxy wallet?)", 2)
        _one(settings.venue, key, spec.name, opts, spec.signature_type)
