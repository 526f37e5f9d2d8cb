"""EOA custody: the follower's own key signs orders posted to the CLOB (`EoaExecutor`); each signed
order is journaled before it is posted, and the wallet's CLOB API credentials are derived once and
kept (encrypted) with the wallet."""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.chain.tx_signer import TxSigner
from polyhunter.adapters.polymarket.auth import ApiCreds
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.eip712 import address_from_private_key, parse_private_key
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.execution.chain_redeem import ChainRedeemer
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.execution.registry import BuildContext, CustodyType, NewWallet, ValueContext
from polyhunter.ports.venue import Executor
from polyhunter.runtime.identity_checks import signer_problems
from polyhunter.runtime.order_journal import OrderJournal
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.wallets import ClobCredentials, WalletRepository

if TYPE_CHECKING:
    from polyhunter.runtime.provision import Provisioned
    from polyhunter.runtime.run_file import FollowerSpec


def _eoa(executor: Executor) -> EoaExecutor:
    assert isinstance(executor, EoaExecutor)
    return executor


def _check(spec: FollowerSpec) -> list[tuple[str, str]]:
    if not spec.private_key_env and spec.private_key is None:
        return [("private_key_env", "EOA custody needs private_key_env")]
    if spec.private_key is None and not os.environ.get(spec.private_key_env or ""):
        return [("private_key_env", f"env var {spec.private_key_env} is not set")]
    if spec.private_key is not None:
        key, source = spec.private_key.get_secret_value(), "the key"
    else:
        key, source = os.environ.get(spec.private_key_env or "", ""), f"env var {spec.private_key_env}"
    return signer_problems(key, source, spec.signature_type, spec.signer, spec.funder)


def _wallet(spec: FollowerSpec) -> NewWallet:
    key = spec.key()
    if key is None:
        raise ValueError(f"follower {spec.name}: EOA custody needs private_key_env")
    return NewWallet(address_from_private_key(key).lower(), WalletKind.EOA, key)


async def _account(ctx: BuildContext, f: Provisioned) -> EoaAccount:
    s = ctx.settings
    key = f.wallet.private_key
    if key is None:
        raise ValueError(f"follower {f.spec.name}: EOA wallet has no key")
    creds = None
    if f.wallet.clob is not None:
        creds = ApiCreds(f.wallet.clob.api_key, f.wallet.clob.api_secret, f.wallet.clob.api_passphrase)
    http = HttpClient(
        s.venue.clob_url, s.venue.request_timeout_ms, RetryPolicy(max_retries=s.venue.max_retries)
    )
    client = ClobTradingClient(http, OrderSigner(key), s.venue.chain_id, creds)
    ctx.closers.append(client.close)
    if creds is None:
        creds = await client.ensure_api_key()
        async with unit_of_work(ctx.sessions) as session:
            await WalletRepository(session, ctx.box).set_clob_credentials(
                f.wallet.address, ClobCredentials(creds.api_key, creds.secret, creds.passphrase)
            )
    funder = f.wallet.funder_address or client.signer.address
    signer = TxSigner(parse_private_key(key))
    return EoaAccount(client, funder, SignatureType(f.wallet.signature_type), signer)


def _redeemer(ctx: BuildContext) -> ChainRedeemer | None:
    """Redemptions by the wallet's own transaction when a chain node is configured."""
    venue = ctx.settings.venue
    if not venue.chain_rpc_url:
        return None
    rpc = JsonRpcClient(venue.chain_rpc_url, timeout_ms=30_000)
    ctx.closers.append(rpc.close)
    return ChainRedeemer(rpc, venue.chain_id, venue.conditional_tokens, venue.collateral_contract)


async def _build(ctx: BuildContext, followers: Sequence[Provisioned]) -> Executor:
    accounts = {f.user_id: await _account(ctx, f) for f in followers}
    journal = OrderJournal(ctx.sessions, ctx.wallet_of_user)
    return EoaExecutor(
        accounts,
        chain_id=ctx.settings.venue.chain_id,
        order_version=ctx.order_version,
        record_submit=journal.record_submit,
        lookup_submit=journal.lookup_submit,
        remember_s=ctx.remember_s,
        fee_rate=ctx.fee_rate,
        redeemer=_redeemer(ctx),
    )


async def _add(ctx: BuildContext, executor: Executor, f: Provisioned) -> None:
    eoa = _eoa(executor)
    if not eoa.has_account(f.user_id):
        eoa.add_account(f.user_id, await _account(ctx, f))


async def _positions_value(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """The Data API's current value of the positions of the wallet's funder address (the engine's
    cached `/positions` reader; it lags a fill by up to its TTL)."""
    if ctx.portfolio is None:
        raise ValueError("no portfolio to value an EOA follower's positions")
    return await ctx.portfolio.equity(_eoa(executor).funder(user_id).lower())


async def _equity(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """The venue's collateral balance plus the Data API's current value of the funder's positions."""
    eoa = _eoa(executor)
    cash = (await eoa.collateral(user_id)).balance
    client = DataApiClient(ctx.data_api_url)
    try:
        positions = await client.positions(eoa.funder(user_id).lower())
    finally:
        await client.close()
    return cash + sum((p.current_value for p in positions), Decimal(0))


EOA = CustodyType(
    mode=CustodyMode.EOA,
    wallet_kind=WalletKind.EOA,
    accepts=frozenset({"private_key_env", "signature_type", "signer", "funder"}),
    requires=frozenset({"private_key_env"}),
    check=_check,
    wallet=_wallet,
    build=_build,
    positions_value=_positions_value,
    equity=_equity,
    label="own wallet",
    add=_add,
)
