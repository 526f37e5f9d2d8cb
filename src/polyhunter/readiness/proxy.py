"""PROXY custody: each PROXY follower's proxy is deployed by the configured factory, bound to the configured
executor and not paused (else ``NO_PROXY``), and the fleet is ready: the executor not paused, and each fleet
worker (``polyhunter fleet add``) listed on it, not paused, with gas, collateral and its approvals of the
executor (settlement moves its shares and collateral).

DIRECT followers (the proxy is the maker of its orders): ``proxy.NAME`` also needs the proxy's collateral and
outcome tokens to be the venue's (else ``NO_PROXY``); ``direct.NAME`` that the owner approved every exchange
(``polyhunter proxy approve``). When every PROXY follower is DIRECT, a worker only signs orders (and sends
redemptions): listed, not paused and with gas is ready; no float, no approvals of the executor."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode_call
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.execution.proxy_custody import direct_problem
from polyhunter.execution.proxy_direct import missing_approvals
from polyhunter.readiness.checks import CheckResult, Status, bounded, failed, one_line, passed, skipped
from polyhunter.runtime.run_file import FollowerSpec
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.settlements import FleetWorkerRow, SettlementRepository

MICRO = Decimal(1_000_000)
_PROXY_FIX = "`polyhunter proxy create OWNER`, then put the address it prints in the run file's proxy"
_APPROVE_FIX = "the proxy's owner runs `polyhunter proxy approve PROXY --key-env OWNER_KEY_VAR`"
_CONTRACTS_FIX = "set proxy.factory, proxy.executor, proxy.collateral, proxy.ctf and venue.chain_rpc_url"


def _problem(settings: Settings) -> str | None:
    if not settings.proxy.configured:
        return "the proxy contracts are not set (proxy.factory, executor, collateral, ctf)"
    if not settings.venue.rpc_urls:
        return "no chain node (venue.chain_rpc_url)"
    return None


def _rpc(settings: Settings, timeout_s: float) -> JsonRpcClient:
    return JsonRpcClient(settings.venue.rpc_urls, timeout_ms=max(100, int(timeout_s * 1000)), max_retries=0)


async def _bool(rpc: JsonRpcClient, to: str, data: bytes) -> bool:
    return cc.decode_bool(await rpc.call_contract(to, data))


async def check_proxy(settings: Settings, spec: FollowerSpec, timeout_s: float) -> CheckResult:
    """``proxy.NAME``: fails with ``NO_PROXY`` unless the follower's proxy is a deployed, bound, unpaused
    proxy of the configured factory."""
    name = f"proxy.{spec.name}"
    problem = _problem(settings)
    if problem is not None:
        return failed(name, f"NO_PROXY: {problem}", _CONTRACTS_FIX)
    if not spec.proxy:
        return failed(name, "NO_PROXY: the run file names no proxy for this follower", _PROXY_FIX)
    p, proxy = settings.proxy, spec.proxy.lower()
    assert p.factory is not None
    assert p.executor is not None
    async with _rpc(settings, timeout_s) as rpc:
        if await rpc.call("eth_getCode", [proxy, "latest"]) in ("0x", "0x0", None):
            return failed(name, f"NO_PROXY: no contract at {proxy} (not deployed)", _PROXY_FIX)
        if not await _bool(rpc, p.factory, cc.is_proxy(proxy)):
            return failed(name, f"NO_PROXY: {proxy} is not a proxy of the factory {p.factory}", _PROXY_FIX)
        bound = cc.decode_address(await rpc.call_contract(proxy, encode_call("executor()", [])))
        if bound != p.executor:
            return failed(
                name,
                f"NO_PROXY: {proxy} is bound to the executor {bound}, not {p.executor}",
                "rebind it (factory admin: bindProxyExecutor) or fix proxy.executor",
            )
        if await _bool(rpc, proxy, encode_call("paused()", [])):
            return failed(name, f"NO_PROXY: {proxy} is paused by its owner or the admin", "unpause the proxy")
        balance = cc.decode_uint(await rpc.call_contract(p.collateral or "", cc.erc20_balance_of(proxy)))
    mode = ""
    if spec.direct:
        problem = direct_problem(settings)
        if problem is not None:
            return failed(name, f"NO_PROXY: DIRECT custody: {problem}", "set proxy.collateral and proxy.ctf")
        mode = " (DIRECT)"
    return passed(name, f"{proxy} deployed, bound to {p.executor}, {Decimal(balance) / MICRO:f} USDC{mode}")


async def check_direct(settings: Settings, spec: FollowerSpec, timeout_s: float) -> CheckResult:
    """``direct.NAME``: the DIRECT follower's proxy has approved every exchange for its pUSD and shares."""
    name = f"direct.{spec.name}"
    p = settings.proxy
    if _problem(settings) is not None or direct_problem(settings) is not None or not spec.proxy:
        return skipped(name, "see the proxy check")
    assert p.collateral is not None
    assert p.ctf is not None
    spenders = [*settings.venue.approval_spenders, *settings.venue.exchange_v3]
    async with _rpc(settings, timeout_s) as rpc:
        missing = await missing_approvals(rpc, spec.proxy, p.collateral, p.ctf, spenders)
    if missing:
        return failed(
            name,
            f"the proxy has not approved: {'; '.join(c.what for c in missing)}",
            f"the owner runs `polyhunter proxy approve {spec.proxy.lower()} --key-env OWNER_KEY_VAR`",
        )
    return passed(name, f"every exchange may settle the proxy's orders ({len(set(spenders))} spenders)")


async def _workers(settings: Settings) -> list[FleetWorkerRow]:
    engine = create_engine(settings.db, pooled=False)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            return await SettlementRepository(session).workers()
    finally:
        await engine.dispose()


async def _worker(
    rpc: JsonRpcClient, settings: Settings, w: FleetWorkerRow, *, floats: bool = True
) -> CheckResult:
    """``floats``: some follower trades on the fleet's float (PROXY, not only DIRECT followers)."""
    p = settings.proxy
    assert p.executor is not None
    assert p.collateral is not None
    assert p.ctf is not None
    name, address = f"fleet.{w.address}", w.address
    if w.paused:
        return failed(name, "paused: it takes no copies", f"`polyhunter fleet pause {address} --resume`")
    if not await _bool(rpc, p.executor, encode_call("isWorker(address)", [address])):
        return failed(name, f"not listed on the executor {p.executor}", "list it: `polyhunter fleet add`")
    gas = int(str(await rpc.call("eth_getBalance", [address, "latest"])), 16)
    usdc = cc.decode_uint(await rpc.call_contract(p.collateral, cc.erc20_balance_of(address)))
    allowance = cc.decode_uint(
        await rpc.call_contract(
            p.collateral, encode_call("allowance(address,address)", [address, p.executor])
        )
    )
    operator = await _bool(
        rpc, p.ctf, encode_call("isApprovedForAll(address,address)", [address, p.executor])
    )
    fund_fix = f"send POL (gas) and collateral to {address}"
    if gas == 0:
        return failed(name, "no gas (0 POL)", fund_fix)
    if not floats:  # DIRECT only: it signs the proxies' orders and sends their redemptions
        return passed(name, f"listed, {gas / 10**18:.4f} POL (signs DIRECT orders)")
    if usdc == 0:
        return failed(name, "not funded: 0 USDC of collateral (no float to trade on)", fund_fix)
    if allowance == 0 or not operator:
        return failed(
            name, "the executor may not move its collateral or shares", "`polyhunter fleet add --approve`"
        )
    return passed(
        name,
        f"listed, {gas / 10**18:.4f} POL, {Decimal(usdc) / MICRO:f} USDC "
        f"(float limit {Decimal(w.float_limit_micro) / MICRO:f})",
    )


async def check_fleet(settings: Settings, timeout_s: float, *, floats: bool = True) -> list[CheckResult]:
    """``fleet``: the executor not paused and a ready worker; ``fleet.ADDRESS``: each worker."""
    problem = _problem(settings)
    if problem is not None:
        return [failed("fleet", f"NO_PROXY: {problem}", _CONTRACTS_FIX)]
    executor = settings.proxy.executor
    assert executor is not None
    workers = await _workers(settings)
    if not workers:
        return [
            failed(
                "fleet", "NO_WALLET: no fleet worker", "`polyhunter fleet add --key-env VAR --float-usdc N`"
            )
        ]
    async with _rpc(settings, timeout_s) as rpc:
        if await _bool(rpc, executor, encode_call("paused()", [])):
            return [failed("fleet", f"the executor {executor} is paused", "unpause it (executor admin)")]
        results = [await _worker(rpc, settings, w, floats=floats) for w in workers]
    ready = sum(1 for r in results if r.status is Status.PASS)
    head = (
        passed("fleet", f"{ready} of {len(workers)} worker(s) ready")
        if ready
        else failed("fleet", f"NO_WALLET: none of {len(workers)} worker(s) is ready", "see the fleet.* lines")
    )
    return [head, *results]


async def proxy_checks(
    settings: Settings, followers: Sequence[FollowerSpec], timeout_s: float
) -> list[CheckResult]:
    """``proxy.NAME`` for each PROXY follower and, when there is one, the fleet; nothing otherwise."""
    proxied = [f for f in followers if f.custody is CustodyMode.PROXY]
    if not proxied:
        return []
    out = [
        await bounded(f"proxy.{f.name}", check_proxy(settings, f, timeout_s), timeout_s * 3, _PROXY_FIX)
        for f in proxied
    ]
    out += [
        await bounded(f"direct.{f.name}", check_direct(settings, f, timeout_s), timeout_s * 3, _APPROVE_FIX)
        for f in proxied
        if f.direct
    ]
    floats = any(not f.direct for f in proxied)
    try:
        out += await asyncio.wait_for(check_fleet(settings, timeout_s, floats=floats), timeout_s * 5)
    except TimeoutError:
        out.append(failed("fleet", f"no answer within {timeout_s * 5:g} s", "start the node or the database"))
    except Exception as exc:  # noqa: BLE001 - a check reports what went wrong; it never crashes the doctor
        out.append(
            failed("fleet", f"{type(exc).__name__}: {one_line(exc)}", "start the node or the database")
        )
    return out
