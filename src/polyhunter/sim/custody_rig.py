"""A proxy custody set-up on anvil for the demo, the benchmarks and the tests: the contracts deployed, one
proxy per named owner, fleet workers with fresh keys (gas, approvals for the executor, listed), and their
float minted. Test tokens stand in for pUSD and the outcome tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode, function_selector
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.sim.custody_deploy import CustodyDeployment, deploy_custody, send


@dataclass(frozen=True, slots=True)
class RigWorker:
    key: str = field(repr=False)
    sender: WorkerSender


@dataclass(slots=True)
class CustodyRig:
    rpc: JsonRpcClient
    deployment: CustodyDeployment
    monitor: TxMonitor
    proxies: dict[str, str] = field(default_factory=dict)  # owner -> proxy
    workers: list[RigWorker] = field(default_factory=list)

    async def mint(self, to: str, usdc_micro: int = 0, token_id: int = 0, shares_micro: int = 0) -> None:
        d = self.deployment
        if usdc_micro:
            data = function_selector("mint(address,uint256)") + encode(
                ["address", "uint256"], [to, usdc_micro]
            )
            await send(self.rpc, d.admin, d.collateral, data)
        if shares_micro:
            data = function_selector("mint(address,uint256,uint256)") + encode(
                ["address", "uint256", "uint256"], [to, token_id, shares_micro]
            )
            await send(self.rpc, d.admin, d.ctf, data)

    async def usdc(self, who: str) -> int:
        return cc.decode_uint(
            await self.rpc.call_contract(self.deployment.collateral, cc.erc20_balance_of(who))
        )

    async def shares(self, who: str, token_id: int) -> int:
        data = cc.erc1155_balance_of(who, token_id)
        return cc.decode_uint(await self.rpc.call_contract(self.deployment.ctf, data))

    async def create_proxy(self, owner: str) -> str:
        d = self.deployment
        await send(self.rpc, d.admin, d.factory, cc.create_proxy(owner))
        proxy = cc.decode_address(await self.rpc.call_contract(d.factory, cc.proxy_of(owner)))
        self.proxies[owner.lower()] = proxy
        return proxy

    async def worker_call(self, worker: WorkerSender, to: str, data: bytes, gas: int = 500_000) -> None:
        tracked = await self.monitor.send(worker, to, data, gas)
        receipt = await self.monitor.confirmed(tracked, 60)
        if receipt.get("status") != "0x1":
            raise RuntimeError(f"worker call to {to} reverted")

    async def add_worker(self, float_micro: int = 0) -> RigWorker:
        d = self.deployment
        key = "0x" + secrets.token_hex(32)
        sender = WorkerSender(self.rpc, TxSigner(key, await self.rpc.chain_id()))
        await self.rpc.call("anvil_setBalance", [sender.address, hex(10**20)])
        await send(self.rpc, d.admin, d.executor, cc.set_worker(sender.address, True))
        await self.worker_call(sender, d.ctf, cc.erc1155_set_approval_for_all(d.executor, True))
        await self.worker_call(sender, d.collateral, cc.erc20_approve(d.executor, 2**256 - 1))
        if float_micro:
            await self.mint(sender.address, float_micro)
        worker = RigWorker(key, sender)
        self.workers.append(worker)
        return worker


async def build_custody_rig(rpc: JsonRpcClient, monitor: TxMonitor) -> CustodyRig:
    return CustodyRig(rpc, await deploy_custody(rpc), monitor)
