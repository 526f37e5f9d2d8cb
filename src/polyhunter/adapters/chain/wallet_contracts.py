"""The contract calls a new own wallet needs: ERC-20 (USDC.e, pUSD) balances and allowances, the
ConditionalTokens' ERC-1155 operator approvals, and the CollateralOnramp's ``wrap``. Reads go through
``eth_call``; writes are call data for a transaction the wallet signs."""

from __future__ import annotations

from dataclasses import dataclass

from polyhunter.adapters.chain.abi import decode, encode_call
from polyhunter.adapters.chain.rpc import JsonRpcClient

__all__ = [
    "MAX_UINT256",
    "WalletContracts",
    "approve_call",
    "read_allowance",
    "read_approved_for_all",
    "read_balance",
    "set_approval_for_all_call",
    "wrap_call",
]

MAX_UINT256 = (1 << 256) - 1


@dataclass(frozen=True, slots=True)
class WalletContracts:
    """Addresses (``venue.*`` settings; Polygon's by default)."""

    collateral: str  # pUSD
    bridged_usdc: str  # USDC.e
    onramp: str  # CollateralOnramp
    conditional_tokens: str  # CTF (ERC-1155)
    spenders: tuple[str, ...]  # the exchanges and the neg-risk adapter


def approve_call(spender: str, amount: int) -> bytes:
    return encode_call("approve(address,uint256)", [spender, amount])


def set_approval_for_all_call(operator: str, approved: bool = True) -> bytes:
    return encode_call("setApprovalForAll(address,bool)", [operator, approved])


def wrap_call(asset: str, to: str, amount: int) -> bytes:
    return encode_call("wrap(address,address,uint256)", [asset, to, amount])


async def _uint(rpc: JsonRpcClient, to: str, data: bytes) -> int:
    raw = await rpc.call_contract(to, data)
    if not raw:
        raise ValueError(f"no contract at {to} (empty answer)")
    (value,) = decode(["uint256"], raw)
    assert isinstance(value, int)
    return value


async def read_balance(rpc: JsonRpcClient, token: str, owner: str) -> int:
    return await _uint(rpc, token, encode_call("balanceOf(address)", [owner]))


async def read_allowance(rpc: JsonRpcClient, token: str, owner: str, spender: str) -> int:
    return await _uint(rpc, token, encode_call("allowance(address,address)", [owner, spender]))


async def read_approved_for_all(rpc: JsonRpcClient, ctf: str, owner: str, operator: str) -> bool:
    data = encode_call("isApprovedForAll(address,address)", [owner, operator])
    return await _uint(rpc, ctf, data) != 0
