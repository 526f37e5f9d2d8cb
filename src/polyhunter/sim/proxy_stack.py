"""PROXY custody on the simulator's chain (chain mode: anvil holds the venue's money), for the demo and the
end-to-end tests: the custody contracts over the venue's own pUSD and ConditionalTokens, a follower's proxy
(funded on the venue: minted on chain), fleet workers with fresh keys (gas, listed, the executor approved).

``proxy_stack``: each worker is stocked once, its float deposited on the venue (on chain; no shares): a
fill moves the worker's pUSD and shares on chain, settlement moves them between it and the proxy, and the
venue's CLOB reads the worker's balances from the chain (``sim/chain_venue.py``, ``refusal``). The venue
resolves its markets on chain itself. ``direct_deposit_micro``: a second proxy on the same contracts for
a DIRECT follower, funded and approved by its owner.

``direct_stack``: DIRECT mode alone: the proxy funded on the simulator (on chain, unapproved), its owner's
approvals of the exchanges (the proxy's owner-only ``approveToken`` / ``approveOperator``), and listed
workers with no float: they sign the proxy's orders (and send its commission batches).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp

from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.proxy_direct import missing_approvals
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.sim.chain_tokens import CTF, PUSD, SPENDERS
from polyhunter.sim.custody_deploy import CustodyDeployment, deploy_custody
from polyhunter.sim.custody_rig import CustodyRig

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


async def _fund_sim(http: aiohttp.ClientSession, admin_url: str, body: Mapping[str, object]) -> None:
    async with http.post(admin_url + "/fund", json=body) as resp:
        resp.raise_for_status()


@contextlib.asynccontextmanager
async def proxy_stack(
    admin_url: str,
    rpc_url: str,
    *,
    deposit_micro: int,
    float_micro: int,
    workers: int = 2,
    direct_deposit_micro: int = 0,
) -> AsyncIterator[ProxyStack]:
    """The contracts on the simulator's chain at ``rpc_url`` (its anvil: account 0 deploys), a proxy
    holding ``deposit_micro``, ``workers`` workers with ``float_micro`` each (see the module docstring)."""
    async with JsonRpcClient(rpc_url) as rpc, aiohttp.ClientSession() as http:
        monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
        poller = asyncio.create_task(monitor.run(), name="proxy-stack-monitor")
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
