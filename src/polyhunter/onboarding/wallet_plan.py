"""What a new own (EOA) wallet still needs on chain before it can trade, as a list of transactions.

Read from the chain (never from a cache): the wallet's POL (gas), USDC.e, pUSD, pUSD allowances and the
ConditionalTokens' operator approvals for every spender. Then, in order:

1. the wrap of its USDC.e into pUSD (when it holds USDC.e and wrapping is asked for): an approval of the
   onramp for that amount if short, then ``wrap(USDC.e, wallet, amount)``;
2. a pUSD ``approve`` of each spender whose allowance is below the target (unlimited by default);
3. a ConditionalTokens ``setApprovalForAll(spender, true)`` for each spender not yet approved.

What is already done is not planned again, so running the setup twice sends nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.chain.wallet_contracts import (
    MAX_UINT256,
    WalletContracts,
    approve_call,
    read_allowance,
    read_approved_for_all,
    read_balance,
    set_approval_for_all_call,
    wrap_call,
)

__all__ = [
    "UNLIMITED",
    "PlannedTx",
    "WalletChainState",
    "gas_budget",
    "plan_setup",
    "read_chain_state",
    "spender_name",
    "usdc",
]

UNLIMITED = 10**21  # an allowance this large (1e15 USDC) counts as unlimited, as the doctor reads it
MICRO = Decimal(1_000_000)
SPENDER_NAMES = {
    "0xe111180000d2663c0091e4f400237545b87b996b": "CTF Exchange V2",
    "0xe2222d279d744050d28e00520010520000310f59": "NegRisk CTF Exchange V2",
    "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296": "NegRiskAdapter",
    "0xe3333700ca9d93003f00f0f71f8515005f6c00aa": "Exchange V3",
}
# Gas limits for the pre-flight check of the wallet's POL (each sent transaction is estimated first).
GAS_BUDGET = {"approve": 80_000, "approval_for_all": 80_000, "wrap": 200_000}


def usdc(micro: int) -> str:
    """Micro-units as a decimal amount; "unlimited" from :data:`UNLIMITED`."""
    return "unlimited" if micro >= UNLIMITED else f"{(Decimal(micro) / MICRO).normalize():f}"


def spender_name(address: str) -> str:
    return SPENDER_NAMES.get(address.lower(), "spender")


@dataclass(frozen=True, slots=True)
class WalletChainState:
    address: str
    pol_wei: int
    usdce: int
    pusd: int
    onramp_allowance: int  # USDC.e the onramp may take
    allowances: dict[str, int]  # pUSD, per spender
    approvals: dict[str, bool]  # ConditionalTokens operator approval, per spender


@dataclass(frozen=True, slots=True)
class PlannedTx:
    kind: str  # a GAS_BUDGET key
    what: str  # one line for the operator
    to: str
    data: bytes

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "what": self.what, "to": self.to, "data": "0x" + self.data.hex()}


async def read_chain_state(rpc: JsonRpcClient, contracts: WalletContracts, address: str) -> WalletChainState:
    pol = int(str(await rpc.call("eth_getBalance", [address, "latest"])), 16)
    usdce = await read_balance(rpc, contracts.bridged_usdc, address)
    pusd = await read_balance(rpc, contracts.collateral, address)
    onramp = await read_allowance(rpc, contracts.bridged_usdc, address, contracts.onramp)
    allowances = {s: await read_allowance(rpc, contracts.collateral, address, s) for s in contracts.spenders}
    approvals = {
        s: await read_approved_for_all(rpc, contracts.conditional_tokens, address, s)
        for s in contracts.spenders
    }
    return WalletChainState(address, pol, usdce, pusd, onramp, allowances, approvals)


def plan_setup(
    state: WalletChainState, contracts: WalletContracts, *, wrap: bool = True, allowance: int = MAX_UINT256
) -> list[PlannedTx]:
    """The transactions still missing (see the module docstring); ``allowance`` is the pUSD target."""
    txs: list[PlannedTx] = []
    if wrap and state.usdce > 0:
        if state.onramp_allowance < state.usdce:
            txs.append(
                PlannedTx(
                    "approve",
                    f"approve {usdc(state.usdce)} USDC.e for the CollateralOnramp {contracts.onramp}",
                    contracts.bridged_usdc,
                    approve_call(contracts.onramp, state.usdce),
                )
            )
        txs.append(
            PlannedTx(
                "wrap",
                f"wrap {usdc(state.usdce)} USDC.e into pUSD (CollateralOnramp {contracts.onramp})",
                contracts.onramp,
                wrap_call(contracts.bridged_usdc, state.address, state.usdce),
            )
        )
    target = min(allowance, UNLIMITED)
    for spender, current in state.allowances.items():
        if current < target:
            txs.append(
                PlannedTx(
                    "approve",
                    f"approve {usdc(allowance)} pUSD for {spender_name(spender)} {spender}",
                    contracts.collateral,
                    approve_call(spender, allowance),
                )
            )
    for spender, approved in state.approvals.items():
        if not approved:
            txs.append(
                PlannedTx(
                    "approval_for_all",
                    f"approve the outcome shares (ConditionalTokens) for {spender_name(spender)} {spender}",
                    contracts.conditional_tokens,
                    set_approval_for_all_call(spender, True),
                )
            )
    return txs


def gas_budget(txs: list[PlannedTx]) -> int:
    return sum(GAS_BUDGET[tx.kind] for tx in txs)
