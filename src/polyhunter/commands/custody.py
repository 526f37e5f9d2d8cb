"""`polyhunter fleet add|status|pause` (the platform's hot wallets for PROXY custody) and
`polyhunter proxy create|deposit|withdraw|approve|status` (a follower's proxy contract; `approve`: the
owner's approvals of the venue's exchanges for DIRECT mode). Keys are read from the environment variable
named by ``--key-env``, never from the command line, and stored only encrypted."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner, TxSignError
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.errors import OperatorNeededError
from polyhunter.execution.proxy_custody import chain_client, direct_problem
from polyhunter.execution.proxy_direct import DIRECT_SIGNATURE_TYPE, OwnerCall, missing_approvals
from polyhunter.execution.tx_monitor import TxMonitor, TxRevertedError, WorkerSender
from polyhunter.log import configure_logging
from polyhunter.settings import Settings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.master_key import open_secret_box
from polyhunter.store.models import Wallet
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository
from polyhunter.store.sessions import SessionFactory

T = TypeVar("T")
MICRO = Decimal(1_000_000)

fleet_app = typer.Typer(help="Fleet workers: platform hot wallets that trade for PROXY followers on float.")
proxy_app = typer.Typer(help="A follower's proxy contract: create it, deposit, withdraw, read its state.")
KEY_ENV = typer.Option(..., "--key-env", help="Name of the env var holding the private key (never the key).")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def _key(env_name: str) -> str:
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise _fail(f"env var {env_name} is not set", 2)
    return value


def _micro(text: str, name: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _fail(f"{name}: not a number: {text!r}", 2) from None
    if not value.is_finite() or value <= 0 or value > Decimal(10**12):
        raise _fail(f"{name}: must be > 0 and at most 10^12, got {text}", 2)
    micro = value * MICRO
    if micro != micro.to_integral_value():
        raise _fail(f"{name}: at most 6 decimals, got {text}", 2)
    return int(micro)


def _address(text: str, name: str) -> str:
    raw = text.strip().lower()
    if len(raw) != 42 or not raw.startswith("0x") or any(c not in "0123456789abcdef" for c in raw[2:]):
        raise _fail(f"{name}: not an address: {text[:50]!r}", 2)
    return raw


def _run(settings: Settings, work: Callable[[SessionFactory, Settings], Awaitable[T]]) -> T:
    async def go() -> T:
        await migrate.upgrade(settings.db)
        engine = create_engine(settings.db, pooled=False)
        try:
            return await work(create_session_factory(engine), settings)
        finally:
            await engine.dispose()

    configure_logging("WARNING")  # stdout is the answer; migrations and the like stay quiet
    try:
        return asyncio.run(go())
    except OperatorNeededError as exc:
        raise _fail(str(exc), 2) from None
    except TxRevertedError as exc:
        raise _fail(f"the transaction reverted on chain (not allowed, or paused?): {exc}") from None
    except (SQLAlchemyError, OSError, RpcError, RpcTransportError, TxSignError) as exc:
        raise _fail(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None


async def _send(rpc: JsonRpcClient, key: str, to: str, data: bytes, gas: int = 500_000) -> str:
    """One transaction signed with ``key``, waited for (one confirmation); its hash."""
    sender = WorkerSender(rpc, TxSigner(key, await rpc.chain_id()))
    monitor = TxMonitor(rpc, confirmations=1, poll_s=0.1)
    tracked = await monitor.send(sender, to, data, gas)
    poller = asyncio.create_task(monitor.run())
    try:
        receipt = await monitor.confirmed(tracked, 120)
    finally:
        poller.cancel()
    return str(receipt["transactionHash"])


# --- fleet ----------------------------------------------------------------------------------------------


@fleet_app.command("add")
def fleet_add(
    key_env: str = KEY_ENV,
    float_usdc: str = typer.Option(..., "--float-usdc", help="Most BUY cost it may carry unsettled."),
    approve: bool = typer.Option(
        False, "--approve", help="Also let the executor move its tokens (on chain)."
    ),
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Add a fleet worker: its key stored encrypted, its float limit; `--approve` sends its approvals."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    key, limit = _key(key_env), _micro(float_usdc, "--float-usdc")
    try:
        address = TxSigner(key, 1).address
    except TxSignError as exc:
        raise _fail(f"env var {key_env}: {exc}", 2) from None

    async def work(sessions: SessionFactory, s: Settings) -> None:
        box = await open_secret_box(s.secrets, sessions)
        async with unit_of_work(sessions) as session:
            wallet_id = await WalletRepository(session, box).create(
                address, WalletKind.FLEET, private_key=key
            )
            await SettlementRepository(session).add_worker(wallet_id, limit)
        if approve:
            async with chain_client(s) as rpc:
                p = s.proxy
                assert p.executor is not None
                assert p.ctf is not None
                assert p.collateral is not None
                await _send(rpc, key, p.ctf, cc.erc1155_set_approval_for_all(p.executor, True))
                await _send(rpc, key, p.collateral, cc.erc20_approve(p.executor, 2**256 - 1))

    _run(settings, work)
    typer.echo(f"fleet worker {address} added (float {Decimal(limit) / MICRO} USDC)")


@fleet_app.command("status")
def fleet_status(
    settings_file: Path | None = CONFIG_OPTION, set_flags: list[str] | None = SET_OPTION
) -> None:
    """One line per worker: address, float in use / limit, paused."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)

    async def work(sessions: SessionFactory, _: Settings) -> list[str]:
        async with unit_of_work(sessions) as session:
            repo = SettlementRepository(session)
            workers, used = await repo.workers(), await repo.float_in_use()
        return [
            f"{w.address}  float {Decimal(used.get(w.wallet_id, 0)) / MICRO} / {Decimal(w.float_limit_micro) / MICRO} "
            f"USDC  {'PAUSED' if w.paused else 'active'}"
            for w in workers
        ]

    lines = _run(settings, work)
    typer.echo("\n".join(lines) if lines else "no fleet workers (polyhunter fleet add)")


@fleet_app.command("pause")
def fleet_pause(
    address: str = typer.Argument(..., help="The worker's address."),
    resume: bool = typer.Option(False, "--resume", help="Resume it instead."),
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Stop giving a worker new copies (its queued settlements still settle); `--resume` undoes it."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    worker = _address(address, "ADDRESS")

    async def work(sessions: SessionFactory, _: Settings) -> bool:
        async with unit_of_work(sessions) as session:
            return await SettlementRepository(session).set_worker_paused(worker, not resume)

    if not _run(settings, work):
        raise _fail(f"no fleet worker {worker}")
    typer.echo(f"fleet worker {worker} {'resumed' if resume else 'paused'}")


# --- proxy ----------------------------------------------------------------------------------------------


@proxy_app.command("create")
def proxy_create(
    owner: str = typer.Argument(
        ..., help="The follower's own address: it owns the proxy and can always withdraw."
    ),
    key_env: str = KEY_ENV,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Deploy the owner's proxy through the factory (the key pays the gas) and print its address."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    user, key = _address(owner, "OWNER"), _key(key_env)

    async def work(_: SessionFactory, s: Settings) -> str:
        async with chain_client(s) as rpc:
            factory = s.proxy.factory
            assert factory is not None
            existing = cc.decode_address(await rpc.call_contract(factory, cc.proxy_of(user)))
            if int(existing, 16) == 0:
                await _send(rpc, key, factory, cc.create_proxy(user), 2_000_000)
            return cc.decode_address(await rpc.call_contract(factory, cc.proxy_of(user)))

    typer.echo(_run(settings, work))


@proxy_app.command("deposit")
def proxy_deposit(
    proxy: str = typer.Argument(..., help="The proxy's address."),
    usdc: str = typer.Option(..., "--usdc", help="How much collateral to move in."),
    key_env: str = KEY_ENV,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Transfer collateral from the key's account into the proxy."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    target, amount, key = _address(proxy, "PROXY"), _micro(usdc, "--usdc"), _key(key_env)

    async def work(_: SessionFactory, s: Settings) -> str:
        async with chain_client(s) as rpc:
            assert s.proxy.collateral is not None
            return await _send(rpc, key, s.proxy.collateral, cc.erc20_transfer(target, amount))

    typer.echo(f"deposited {Decimal(amount) / MICRO} USDC into {target}: {_run(settings, work)}")


@proxy_app.command("withdraw")
def proxy_withdraw(
    proxy: str = typer.Argument(..., help="The proxy's address."),
    usdc: str = typer.Option(..., "--usdc", help="How much collateral to take out."),
    to: str = typer.Option("", "--to", help="Recipient (default: the owner)."),
    key_env: str = KEY_ENV,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """The owner takes collateral out of the proxy (works while the proxy or the executor is paused)."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    target, amount, key = _address(proxy, "PROXY"), _micro(usdc, "--usdc"), _key(key_env)
    recipient = _address(to, "--to") if to else TxSigner(key, 1).address

    async def work(_: SessionFactory, s: Settings) -> str:
        async with chain_client(s) as rpc:
            assert s.proxy.collateral is not None
            return await _send(rpc, key, target, cc.proxy_withdraw(s.proxy.collateral, recipient, amount))

    typer.echo(
        f"withdrew {Decimal(amount) / MICRO} USDC from {target} to {recipient}: {_run(settings, work)}"
    )


def _spenders(s: Settings) -> list[str]:
    """The venue's exchanges (and the neg-risk adapter) a DIRECT proxy approves, as `wallet setup` does."""
    return list(dict.fromkeys(a.lower() for a in [*s.venue.approval_spenders, *s.venue.exchange_v3]))


async def _direct_calls(rpc: JsonRpcClient, s: Settings, proxy: str) -> list[OwnerCall]:
    assert s.proxy.collateral is not None
    assert s.proxy.ctf is not None
    return await missing_approvals(rpc, proxy, s.proxy.collateral, s.proxy.ctf, _spenders(s))


async def _check_proxy(rpc: JsonRpcClient, s: Settings, proxy: str) -> None:
    assert s.proxy.factory is not None
    if not cc.decode_bool(await rpc.call_contract(s.proxy.factory, cc.is_proxy(proxy))):
        raise OperatorNeededError("NO_PROXY", f"{proxy} is not a proxy of {s.proxy.factory}")


@proxy_app.command("approve")
def proxy_approve(
    proxy: str = typer.Argument(..., help="The proxy's address."),
    key_env: str = typer.Option(
        ..., "--key-env", help="Name of the env var holding the proxy OWNER's key (never the key)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the transactions; send nothing."),
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """DIRECT mode: the owner lets the venue's exchanges settle the proxy's own orders (a pUSD allowance and
    the outcome-share approval of each, through the proxy's owner-only calls); a rerun sends only what is
    missing."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    target, key = _address(proxy, "PROXY"), _key(key_env)
    try:
        signer = TxSigner(key, 1).address.lower()
    except TxSignError as exc:
        raise _fail(f"env var {key_env}: {exc}", 2) from None

    async def work(_: SessionFactory, s: Settings) -> list[str]:
        problem = direct_problem(s)
        if problem is not None:
            raise OperatorNeededError("NO_PROXY", f"DIRECT custody: {problem}")
        async with chain_client(s) as rpc:
            await _check_proxy(rpc, s, target)
            owner = cc.decode_address(await rpc.call_contract(target, cc.selector("owner()")))
            if owner != signer:
                raise OperatorNeededError(
                    "NOT_OWNER", f"env var {key_env} is not the key of {target}'s owner {owner}"
                )
            calls = await _direct_calls(rpc, s, target)
            if dry_run:
                return [f"would send: {c.what}" for c in calls]
            return [f"sent: {c.what}: {await _send(rpc, key, c.to, c.data, 200_000)}" for c in calls]

    lines = _run(settings, work)
    typer.echo("\n".join(lines) if lines else f"{target}: every exchange is approved (nothing to send)")


@proxy_app.command("status")
def proxy_status(
    proxy: str = typer.Argument(..., help="The proxy's address."),
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """The proxy's collateral on chain and its ledger: reimbursed, proceeds, commission, open debt, queued."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    target = _address(proxy, "PROXY")

    async def work(sessions: SessionFactory, s: Settings) -> list[str]:
        async with chain_client(s) as rpc:
            assert s.proxy.collateral is not None
            await _check_proxy(rpc, s, target)
            balance = cc.decode_uint(await rpc.call_contract(s.proxy.collateral, cc.erc20_balance_of(target)))
            missing = [] if direct_problem(s) else await _direct_calls(rpc, s, target)
        lines = [f"proxy {target}: {Decimal(balance) / MICRO} USDC on chain"]
        async with unit_of_work(sessions) as session:
            wallet = (
                await session.execute(
                    select(Wallet.user_id, Wallet.signature_type).where(Wallet.address == target)
                )
            ).first()
        user_id = None if wallet is None else wallet.user_id
        direct = wallet is not None and wallet.signature_type == DIRECT_SIGNATURE_TYPE
        mode = "no follower" if wallet is None else ("DIRECT" if direct else "PROXY (fleet float)")
        approvals = direct_problem(s) or (
            f"missing {'; '.join(c.what for c in missing)} (`polyhunter proxy approve`)"
            if missing
            else "every exchange approved"
        )
        lines.append(f"mode {mode}  DIRECT orders: {approvals}")
        async with unit_of_work(sessions) as session:
            if user_id is not None:
                ledger = await SettlementRepository(session).ledger(int(user_id))
                lines.append(
                    f"reimbursed {Decimal(ledger.reimbursed_micro) / MICRO}  proceeds {Decimal(ledger.proceeds_micro) / MICRO}  "
                    f"commission {Decimal(ledger.commission_micro) / MICRO}  open debt {Decimal(ledger.open_debt_micro) / MICRO}  "
                    f"queued {ledger.queued}"
                )
        return lines

    typer.echo("\n".join(_run(settings, work)))
