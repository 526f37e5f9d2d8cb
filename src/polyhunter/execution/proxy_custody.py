"""PROXY custody: the follower's money is in their proxy contract (run-file key ``proxy``); fleet workers
(``polyhunter fleet add``) trade on their float and the settlement loop settles through the executor
contract (``[proxy]`` settings: the contracts, the fee schedule, batching, confirmations).

DIRECT (run file ``custody = "DIRECT"``: PROXY custody whose wallet has signature type 3): the proxy is the
maker of its own orders, a worker signs them (``execution/proxy_direct.py``); nothing is settled later."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.polymarket.auth import ApiCreds
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType
from polyhunter.domain.commission import FeeSchedule
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.errors import OperatorNeededError
from polyhunter.domain.orders import ExecutionResult, Funds, OrderRequest
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.execution.proxy import FleetMember, ProxyChain, ProxyExecutor
from polyhunter.execution.proxy_direct import DIRECT_SIGNATURE_TYPE, DirectOrders
from polyhunter.execution.proxy_settlement import ProxySettler, SettlementCollector, SettlerConfig
from polyhunter.execution.registry import BuildContext, CustodyType, NewWallet, ValueContext
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.ports.venue import Executor
from polyhunter.runtime.order_journal import OrderJournal
from polyhunter.store.database import unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import ClobCredentials, WalletRepository

if TYPE_CHECKING:
    from polyhunter.runtime.provision import Provisioned
    from polyhunter.runtime.run_file import FollowerSpec
    from polyhunter.settings import Settings

MICRO = Decimal(1_000_000)


def _proxy(executor: Executor) -> ProxyExecutor:
    assert isinstance(executor, ProxyExecutor)
    return executor


def _check(spec: FollowerSpec) -> list[tuple[str, str]]:
    mode = "DIRECT" if spec.signature_type == DIRECT_SIGNATURE_TYPE else "PROXY"
    problems = []
    if not spec.proxy:
        problems.append(
            ("proxy", f"{mode} custody needs proxy (the address `polyhunter proxy create OWNER` prints)")
        )
    if spec.signature_type not in (0, DIRECT_SIGNATURE_TYPE):
        problems.append(
            (
                "signature_type",
                "PROXY custody signs with 0 (fleet float) or 3 (DIRECT: the proxy is the maker)",
            )
        )
    return problems


def is_direct(f: Provisioned) -> bool:
    """A PROXY follower whose proxy makes its own orders (DIRECT mode)."""
    return f.wallet.signature_type == DIRECT_SIGNATURE_TYPE


def direct_problem(settings: Settings) -> str | None:
    """Why DIRECT orders cannot settle from the proxy: the proxy must hold the venue's own collateral and
    outcome tokens, those the exchange moves."""
    p, v = settings.proxy, settings.venue
    if (p.collateral or "").lower() != v.collateral_contract.lower():
        return f"proxy.collateral {p.collateral} is not the venue's collateral {v.collateral_contract}"
    if (p.ctf or "").lower() != v.conditional_tokens.lower():
        return f"proxy.ctf {p.ctf} is not the venue's ConditionalTokens {v.conditional_tokens}"
    return None


def _wallet(spec: FollowerSpec) -> NewWallet:
    if not spec.proxy:
        raise ValueError(f"follower {spec.name}: PROXY custody needs proxy")
    return NewWallet(spec.proxy.lower(), WalletKind.PROXY)


def settler_config(settings: Settings) -> SettlerConfig:
    p = settings.proxy
    assert p.executor is not None
    assert p.collateral is not None
    return SettlerConfig(
        executor=p.executor,
        collateral=p.collateral,
        namespace=p.namespace,
        batch_max=p.batch_max,
        flush_interval_s=p.flush_interval_s,
        cap_micro=int(p.ledger_cap_usdc * MICRO),
        retry_base_s=p.retry_base_s,
        retry_max_s=p.retry_max_s,
    )


def chain_client(settings: Settings) -> JsonRpcClient:
    if not settings.proxy.configured:
        raise OperatorNeededError(
            "NO_PROXY", "PROXY custody needs proxy.factory, proxy.executor, proxy.collateral and proxy.ctf"
        )
    if not settings.venue.rpc_urls:
        raise OperatorNeededError("NO_PROXY", "PROXY custody needs venue.chain_rpc_url")
    return JsonRpcClient(settings.venue.rpc_urls, timeout_ms=settings.venue.request_timeout_ms)


async def _fleet_account(ctx: BuildContext, wallet_id: int) -> tuple[EoaAccount, str]:
    s = ctx.settings
    async with unit_of_work(ctx.sessions) as session:
        wallet = await WalletRepository(session, ctx.box).load_by_id(wallet_id)
    if wallet is None or wallet.private_key is None:
        raise OperatorNeededError("NO_WALLET", f"fleet wallet {wallet_id} has no key")
    creds = None
    if wallet.clob is not None:
        creds = ApiCreds(wallet.clob.api_key, wallet.clob.api_secret, wallet.clob.api_passphrase)
    http = HttpClient(
        s.venue.clob_url, s.venue.request_timeout_ms, RetryPolicy(max_retries=s.venue.max_retries)
    )
    client = ClobTradingClient(http, OrderSigner(wallet.private_key), s.venue.chain_id, creds)
    ctx.closers.append(client.close)
    if creds is None:
        creds = await client.ensure_api_key()
        async with unit_of_work(ctx.sessions) as session:
            await WalletRepository(session, ctx.box).set_clob_credentials(
                wallet.address, ClobCredentials(creds.api_key, creds.secret, creds.passphrase)
            )
    return EoaAccount(client, client.signer.address, SignatureType.EOA), wallet.private_key


class NoProxyExecutor:
    """The PROXY executor of a process without PROXY followers: nothing to build, nothing it may do."""

    remote_funds = True

    def _refuse(self) -> OperatorNeededError:
        return OperatorNeededError("NO_PROXY", "no PROXY follower in this run")

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        raise self._refuse()

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        return None

    async def collateral(self, user_id: int) -> Funds:
        raise self._refuse()

    async def shares(self, user_id: int, token_id: str) -> Funds:
        raise self._refuse()


async def _build(ctx: BuildContext, followers: Sequence[Provisioned]) -> Executor:
    if not followers:  # every custody is built; this one needs its chain only for its followers
        return NoProxyExecutor()
    settings = ctx.settings
    rpc = chain_client(settings)
    ctx.closers.append(rpc.close)
    p = settings.proxy
    assert p.factory is not None
    assert p.executor is not None
    assert p.collateral is not None
    assert p.ctf is not None
    for f in followers:
        if not cc.decode_bool(await rpc.call_contract(p.factory, cc.is_proxy(f.wallet.address))):
            raise OperatorNeededError(
                "NO_PROXY", f"follower {f.spec.name}: {f.wallet.address} is not a proxy of {p.factory}"
            )
    async with unit_of_work(ctx.sessions) as session:
        workers = await SettlementRepository(session).workers()
    if not workers:
        raise OperatorNeededError("NO_WALLET", "PROXY custody needs fleet workers: polyhunter fleet add")
    chain_id = await rpc.chain_id()
    accounts: dict[int, EoaAccount] = {}
    fleet: dict[int, FleetMember] = {}
    for w in workers:
        account, key = await _fleet_account(ctx, w.wallet_id)
        accounts[w.wallet_id] = account
        fleet[w.wallet_id] = FleetMember(
            w.wallet_id, WorkerSender(rpc, TxSigner(key, chain_id)), w.float_limit_micro, w.paused
        )
    journal = OrderJournal(ctx.sessions, {w.wallet_id: w.wallet_id for w in workers})
    clob = EoaExecutor(
        accounts,
        chain_id=settings.venue.chain_id,
        order_version=ctx.order_version,
        record_submit=journal.record_submit,
        lookup_submit=journal.lookup_submit,
        remember_s=ctx.remember_s,
        fee_rate=ctx.fee_rate,  # the venue fee a worker paid, reimbursed at settlement
    )
    monitor = TxMonitor(rpc, confirmations=p.confirmations, stuck_after_s=p.stuck_after_s, poll_s=p.tx_poll_s)
    senders = {wid: m.sender for wid, m in fleet.items()}
    settler = ProxySettler(ctx.sessions, rpc, monitor, senders, settler_config(settings))
    if ctx.registry is not None:
        ctx.registry.register(SettlementCollector(settler, monitor))
    tasks = [
        asyncio.create_task(monitor.run(), name="proxy-tx-monitor"),
        asyncio.create_task(settler.run(), name="proxy-settlement"),
    ]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    ctx.closers.insert(0, stop)
    chain = ProxyChain(rpc, monitor, p.executor, p.collateral, p.ctf)
    direct = _direct(ctx, rpc, [f for f in followers if is_direct(f)], accounts, fleet)
    fees = FeeSchedule(p.fee_bps, p.profit_share_bps)
    executor = ProxyExecutor(
        {f.user_id: f.wallet.address for f in followers},
        fleet,
        clob,
        chain,
        ctx.sessions,
        fees,
        on_queued=settler.wake,
        cap_micro=settler.config.cap_micro,
        direct=direct,
    )
    executor.settler = settler
    return executor


def _direct(
    ctx: BuildContext,
    rpc: JsonRpcClient,
    followers: Sequence[Provisioned],
    accounts: dict[int, EoaAccount],
    fleet: dict[int, FleetMember],
) -> DirectOrders | None:
    """The DIRECT followers' orders, signed by the unpaused workers in turn."""
    if not followers:
        return None
    s = ctx.settings
    problem = direct_problem(s)
    if problem is not None:
        raise OperatorNeededError("NO_PROXY", f"DIRECT custody: {problem}")
    assert s.proxy.collateral is not None
    assert s.proxy.ctf is not None
    journal = OrderJournal(ctx.sessions, ctx.wallet_of_user)  # the order's wallet: the proxy (its maker)
    return DirectOrders(
        {f.user_id: f.wallet.address for f in followers},
        {wid: accounts[wid].client for wid, m in fleet.items() if not m.paused},
        rpc,
        collateral=s.proxy.collateral,
        ctf=s.proxy.ctf,
        chain_id=s.venue.chain_id,
        order_version=ctx.order_version,
        record_submit=journal.record_submit,
        lookup_submit=journal.lookup_submit,
        remember_s=ctx.remember_s,
        fee_rate=ctx.fee_rate,
    )


async def _positions_value(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """The proxy's positions (from its settled and queued copies) at the current midpoint, at cost without one.
    DIRECT: the Data API's current value of the proxy's positions (it is the maker, as an own wallet is)."""
    proxy = _proxy(executor)
    if proxy.is_direct(user_id):
        if ctx.portfolio is None:
            raise ValueError("no portfolio to value a DIRECT follower's positions")
        return await ctx.portfolio.equity(proxy.proxy(user_id))
    total = Decimal(0)
    async with unit_of_work(proxy.sessions) as session:
        repo = SettlementRepository(session)
        positions = [(a, await repo.position(user_id, a)) for a in await repo.assets(user_id)]
    for asset, pos in positions:
        if pos.shares_micro <= 0:
            continue
        mid = await ctx.midpoint(asset)
        total += (
            Decimal(pos.shares_micro) / MICRO * mid if mid is not None else Decimal(pos.cost_micro) / MICRO
        )
    return total


async def _equity(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """The proxy's collateral on chain, less what it owes, plus its positions."""
    cash = (await _proxy(executor).collateral_balance(user_id)) / MICRO
    return cash + await _positions_value(executor, ctx, user_id)


PROXY = CustodyType(
    mode=CustodyMode.PROXY,
    wallet_kind=WalletKind.PROXY,
    accepts=frozenset({"proxy"}),
    requires=frozenset({"proxy"}),
    check=_check,
    wallet=_wallet,
    build=_build,
    positions_value=_positions_value,
    equity=_equity,
    label="proxy",
)
