"""Deploy the proxy custody contracts (and test tokens standing in for pUSD and the outcome tokens) on anvil.

Everything is sent from an account the node holds unlocked (anvil's account 0 is the platform admin):
``TestCollateral`` (ERC-20, 6 decimals), ``TestOutcomes`` (ERC-1155), ``PolyHunterExecutor`` (treasury, workers),
``ProxyFactory`` (bound to the executor), with the proxies' default allowlist: collateral ``transfer`` (to a
listed worker or the treasury only: the proxy checks the recipient), outcome ``safeTransferFrom`` (to a listed
worker only) and ``redeemPositions`` (the payout comes back to the proxy). No approval of any kind: the
contracts refuse ``approve``, ``setApprovalForAll``, ``transferFrom`` and the like on a proxy's allowlist, so
the executor (or a leaked worker key) can never hand a proxy's funds to an address of its choosing. The
executor's own allowlist (its generic ``execute``) starts empty.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode
from polyhunter.adapters.chain.rpc import JsonDict, JsonRpcClient
from polyhunter.sim.chain_build import CONTRACTS_DIR, CompiledContract, compile_contract

CUSTODY_SOURCE = CONTRACTS_DIR / "ProxyCustody.sol"
TOKENS_SOURCE = CONTRACTS_DIR / "TestTokens.sol"
_GAS = 8_000_000


def default_allowlist(collateral: str, ctf: str) -> tuple[tuple[str, str], ...]:
    """Every new proxy's (target, function): what settlement, a SELL's pull and a redemption need."""
    return (
        (collateral, cc.ERC20_TRANSFER),
        (ctf, cc.ERC1155_SAFE_TRANSFER_FROM),
        (ctf, cc.CTF_REDEEM_POSITIONS),
    )


class DeployError(RuntimeError):
    pass


def compiled(name: str) -> CompiledContract:
    source: Path = TOKENS_SOURCE if name.startswith("Test") else CUSTODY_SOURCE
    return compile_contract(name, source)


async def send(rpc: JsonRpcClient, sender: str, to: str | None, data: bytes, *, gas: int = _GAS) -> JsonDict:
    """Send from an unlocked account, wait for the receipt, raise on a revert."""
    tx: dict[str, object] = {"from": sender, "data": "0x" + data.hex(), "gas": hex(gas)}
    if to is not None:
        tx["to"] = to
    receipt = await rpc.wait_for_receipt(await rpc.send_transaction(tx))
    if receipt.get("status") != "0x1":
        raise DeployError(f"transaction from {sender} to {to} reverted: {receipt.get('transactionHash')}")
    return receipt


async def deploy(rpc: JsonRpcClient, sender: str, contract: CompiledContract, args: bytes = b"") -> str:
    receipt = await send(rpc, sender, None, contract.bytecode + args)
    address = receipt.get("contractAddress")
    if not address:
        raise DeployError(f"{contract.name}: no contract address in {receipt}")
    return str(address).lower()


@dataclass(frozen=True, slots=True)
class CustodyDeployment:
    admin: str
    treasury: str
    collateral: str
    ctf: str
    executor: str
    factory: str


async def deploy_custody(
    rpc: JsonRpcClient,
    *,
    admin: str | None = None,
    treasury: str | None = None,
    collateral: str | None = None,
    ctf: str | None = None,
) -> CustodyDeployment:
    """Deploy tokens (unless given), executor and factory, and wire their allowlists."""
    accounts = [a.lower() for a in await rpc.accounts()]
    if not accounts:
        raise DeployError(f"{rpc.url} has no unlocked account (is it anvil?)")
    admin = (admin or accounts[0]).lower()
    treasury = (treasury or accounts[-1]).lower()
    names = ("TestCollateral", "TestOutcomes", "PolyHunterExecutor", "ProxyFactory")
    built = dict(
        zip(names, await asyncio.gather(*(asyncio.to_thread(compiled, n) for n in names)), strict=True)
    )
    collateral = collateral or await deploy(rpc, admin, built["TestCollateral"])
    ctf = ctf or await deploy(rpc, admin, built["TestOutcomes"])
    executor = await deploy(
        rpc,
        admin,
        built["PolyHunterExecutor"],
        encode(["address", "address", "address"], [collateral, ctf, treasury]),
    )
    factory = await deploy(rpc, admin, built["ProxyFactory"], encode(["address"], [executor]))
    await send(rpc, admin, executor, cc.set_factory(factory))
    for target, function in default_allowlist(collateral, ctf):
        await send(rpc, admin, factory, cc.add_default_allowed(target, function))
    return CustodyDeployment(admin, treasury, collateral, ctf, executor, factory)
