"""PROXY custody next to the simulator, for the demo and the end-to-end tests: anvil with the custody
contracts, one follower's proxy (funded), fleet workers with fresh keys (gas, approvals, listed, float).

``proxy_stack``: without the simulator's chain mode its CLOB keeps its own balances (the venue does not
settle on chain), so each worker is stocked on both sides: collateral and shares of every market token on
the simulator (what it trades with) and the same on test tokens on chain (what settlement moves between it
and the proxy), standing in for the venue delivering a fill on chain. A resolved market's condition is set
on the chain's outcome token contract (``resolve``) so the proxy redeems it there.

``proxy_stack(..., venue_chain=True)``: PROXY on the simulator's chain (chain mode): the contracts over the
venue's own pUSD and ConditionalTokens, each worker stocked once (its float deposited on the venue, i.e.
minted on chain, no shares): a fill moves the worker's pUSD and shares on chain, settlement moves them
between it and the proxy, and the venue's CLOB reads the worker's balances from the chain. The venue
resolves its markets on chain itself (``resolve`` does nothing).

``direct_stack``: DIRECT mode on the simulator's chain (chain mode): the custody contracts over the venue's
own pUSD and ConditionalTokens, the proxy funded on the simulator (on chain, unapproved), its owner's
approvals of the exchanges (the proxy's owner-only ``approveToken`` / ``approveOperator``), and listed
workers with no float: they only sign the proxy's orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode_call
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.proxy_direct import missing_approvals
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_tokens import CTF, PUSD, SPENDERS
from polyhunter.sim.custody_deploy import CustodyDeployment, deploy_custody, send
from polyhunter.sim.custody_rig import CustodyRig, build_custody_rig

MICRO = 1_000_000


@dataclass(frozen=True, slots=True)
class FleetKey:
    address: str
    key: str = field(repr=False)
    float_micro: int


@dataclass(slots=True)
class ProxyStack:
    rpc_url: str
    deployment: CustodyDeployment
    owner: str
    proxy: str
    deposit_micro: int
    fleet: list[FleetKey]
    rig: CustodyRig
    owner_key: str = field(default="", repr=False)  # DIRECT: the owner's key (it approves the exchanges)
    venue_chain: bool = False  # over the venue's pUSD and CTF (the simulator's chain mode)
    direct_proxy: str = (
        ""  # a DIRECT follower's proxy on the same contracts (its owner approved the exchanges)
    )

    def proxy_settings(self, **overrides: object) -> dict[str, object]:
        """The ``[proxy]`` settings section for these contracts (``overrides`` on top)."""
        d = self.deployment
        return {
            "factory": d.factory,
            "executor": d.executor,
            "collateral": d.collateral,
            "ctf": d.ctf,
            "confirmations": 1,
            **overrides,
        }

    async def resolve(self, condition_id: str, tokens: Sequence[str], winner: str) -> None:
        """The market resolved on chain too: its condition's positions and payouts on the outcome token
        contract, and the collateral behind every winning share."""
        if self.venue_chain:  # the venue reported the payouts on its ConditionalTokens
            return
        d, rig = self.deployment, self.rig
        cid = bytes.fromhex(condition_id.removeprefix("0x"))
        await send(rig.rpc, d.admin, d.ctf, cc.ctf_set_condition(cid, [int(t) for t in tokens]))
        supply = cc.decode_uint(
            await rig.rpc.call_contract(d.ctf, encode_call("totalSupply(uint256)", [int(winner)]))
        )
        await rig.mint(d.ctf, supply)
        payouts = [1 if t == winner else 0 for t in tokens]
        await send(rig.rpc, d.admin, d.ctf, cc.ctf_report_payouts(cid, payouts))


async def _fund_sim(http: aiohttp.ClientSession, admin_url: str, body: Mapping[str, object]) -> None:
    async with http.post(admin_url + "/fund", json=body) as resp:
        resp.raise_for_status()


@contextlib.asynccontextmanager
async def proxy_stack(
    admin_url: str,
    tokens: Sequence[str],
    *,
    deposit_micro: int,
    float_micro: int,
    stock_micro: int,
    workers: int = 2,
    rpc_url: str | None = None,
    venue_chain: bool = False,
    direct_deposit_micro: int = 0,
) -> AsyncIterator[ProxyStack]:
    """The contracts, a funded proxy and ``workers`` stocked fleet workers on the node at ``rpc_url`` (an
    anvil: its unlocked account 0 deploys; the simulator's chain mode uses the same node), or on a new
    anvil, stopped on exit. ``venue_chain``: ``rpc_url`` is the simulator's chain (chain mode) and the
    custody is over its pUSD and CTF, the workers stocked once (see the module docstring), and with
    ``direct_deposit_micro`` a second proxy for a DIRECT follower, funded and approved by its owner."""
    if venue_chain:
        if rpc_url is None:
            raise ValueError("venue_chain needs the simulator's chain (rpc_url)")
        async with _venue_proxy_stack(
            admin_url,
            rpc_url,
            deposit_micro=deposit_micro,
            float_micro=float_micro,
            workers=workers,
            direct_deposit_micro=direct_deposit_micro,
        ) as venue_stack:
            yield venue_stack
        return
    with contextlib.ExitStack() as stack:
        url = rpc_url or stack.enter_context(AnvilProcess()).url
        async with JsonRpcClient(url) as rpc, aiohttp.ClientSession() as http:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run(), name="proxy-stack-monitor")
            try:
                rig = await build_custody_rig(rpc, monitor)
                owner = "0x" + secrets.token_hex(20)
                proxy = await rig.create_proxy(owner)
                await rig.mint(proxy, deposit_micro)
                fleet = []
                for _ in range(workers):
                    worker = await rig.add_worker(float_micro)
                    address = worker.sender.address
                    await _fund_sim(
                        http, admin_url, {"address": address, "collateral": str(Decimal(float_micro) / MICRO)}
                    )
                    for token in tokens:
                        await rig.mint(address, 0, int(token), stock_micro)
                        shares = str(Decimal(stock_micro) / MICRO)
                        await _fund_sim(
                            http, admin_url, {"address": address, "token_id": token, "shares": shares}
                        )
                    fleet.append(FleetKey(address, worker.key, float_micro))
                yield ProxyStack(url, rig.deployment, owner, proxy, deposit_micro, fleet, rig)
            finally:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller


@contextlib.asynccontextmanager
async def _venue_proxy_stack(
    admin_url: str,
    rpc_url: str,
    *,
    deposit_micro: int,
    float_micro: int,
    workers: int,
    direct_deposit_micro: int = 0,
) -> AsyncIterator[ProxyStack]:
    async with JsonRpcClient(rpc_url) as rpc, aiohttp.ClientSession() as http:
        monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
        poller = asyncio.create_task(monitor.run(), name="venue-proxy-stack-monitor")
        try:
            # a treasury of its own: the venue's node has its accounts trading on the venue
            treasury = "0x" + secrets.token_hex(20)
            deployment = await deploy_custody(rpc, collateral=PUSD, ctf=CTF, treasury=treasury)
            rig = CustodyRig(rpc, deployment, monitor)
            owner = "0x" + secrets.token_hex(20)
            proxy = await rig.create_proxy(owner)
            collateral = str(Decimal(deposit_micro) / MICRO)
            # minted on chain by the venue; the proxy never trades there, so it approves nothing
            await _fund_sim(http, admin_url, {"address": proxy, "collateral": collateral, "approve": False})
            fleet = []
            for _ in range(workers):
                worker = await rig.add_worker(0)  # listed, the executor approved for its pUSD and shares
                address = worker.sender.address
                # its float, on the venue and so on chain, the exchanges approved (a set-up wallet)
                body = {"address": address, "collateral": str(Decimal(float_micro) / MICRO)}
                await _fund_sim(http, admin_url, body)
                fleet.append(FleetKey(address, worker.key, float_micro))
            direct = ""
            if direct_deposit_micro:
                direct = await _direct_proxy(rig, http, admin_url, direct_deposit_micro)
            yield ProxyStack(
                rpc_url,
                deployment,
                owner,
                proxy,
                deposit_micro,
                fleet,
                rig,
                venue_chain=True,
                direct_proxy=direct,
            )
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller


async def _direct_proxy(
    rig: CustodyRig, http: aiohttp.ClientSession, admin_url: str, deposit_micro: int
) -> str:
    """A DIRECT follower's proxy: its owner (a fresh key with gas), the proxy funded on the venue (on chain,
    unapproved) and the owner's approvals of the exchanges through it."""
    rpc = rig.rpc
    owner = WorkerSender(rpc, TxSigner("0x" + secrets.token_hex(32), await rpc.chain_id()))
    await rpc.call("anvil_setBalance", [owner.address, hex(10**20)])
    proxy = await rig.create_proxy(owner.address)
    await _fund_sim(
        http,
        admin_url,
        {"address": proxy, "collateral": str(Decimal(deposit_micro) / MICRO), "approve": False},
    )
    for call in await missing_approvals(rpc, proxy, PUSD, CTF, SPENDERS):
        await rig.worker_call(owner, call.to, call.data)  # the owner's own transaction
    return proxy


@contextlib.asynccontextmanager
async def direct_stack(
    admin_url: str, rpc_url: str, *, deposit_micro: int, workers: int = 2
) -> AsyncIterator[ProxyStack]:
    """DIRECT custody on the simulator's chain at ``rpc_url`` (chain mode): the contracts over the venue's
    pUSD and ConditionalTokens, an owner with a key and its proxy holding ``deposit_micro`` pUSD (funded
    on the simulator, on chain), the exchanges approved by the owner, and ``workers`` listed workers
    without float (gas only)."""
    async with JsonRpcClient(rpc_url) as rpc, aiohttp.ClientSession() as http:
        monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
        poller = asyncio.create_task(monitor.run(), name="direct-stack-monitor")
        try:
            treasury = "0x" + secrets.token_hex(20)  # its own: the node's accounts trade on the venue
            deployment = await deploy_custody(rpc, collateral=PUSD, ctf=CTF, treasury=treasury)
            rig = CustodyRig(rpc, deployment, monitor)
            owner_key = "0x" + secrets.token_hex(32)
            owner = WorkerSender(rpc, TxSigner(owner_key, await rpc.chain_id()))
            await rpc.call("anvil_setBalance", [owner.address, hex(10**20)])
            proxy = await rig.create_proxy(owner.address)
            body = {"address": proxy, "collateral": str(Decimal(deposit_micro) / MICRO), "approve": False}
            async with http.post(admin_url + "/fund", json=body) as resp:
                resp.raise_for_status()
            for call in await missing_approvals(rpc, proxy, PUSD, CTF, SPENDERS):
                await rig.worker_call(owner, call.to, call.data)  # the owner's own transaction
            fleet = []
            for _ in range(workers):
                worker = await rig.add_worker(0)
                fleet.append(FleetKey(worker.sender.address, worker.key, 0))
            yield ProxyStack(rpc_url, deployment, owner.address, proxy, deposit_micro, fleet, rig, owner_key)
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
