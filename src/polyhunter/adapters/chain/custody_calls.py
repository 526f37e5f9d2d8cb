"""Call data and views of the proxy custody contracts (``contracts/ProxyCustody.sol``), and their CREATE2 math.

``PolyHunterProxy`` (one per user), ``ProxyFactory`` (deploys them at a predictable address, relays the
platform admin's allowlist and pause) and ``PolyHunterExecutor`` (listed fleet workers, pause, batch settlement).
Amounts are integer base units (6 decimals for the collateral, shares in the same units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from polyhunter.adapters.chain.abi import AbiError, decode, encode, encode_call, function_selector, keccak256

ERC20_TRANSFER = "transfer(address,uint256)"
ERC20_TRANSFER_FROM = "transferFrom(address,address,uint256)"
ERC20_APPROVE = "approve(address,uint256)"
ERC20_BALANCE_OF = "balanceOf(address)"
ERC1155_SAFE_TRANSFER_FROM = "safeTransferFrom(address,address,uint256,uint256,bytes)"
ERC1155_SET_APPROVAL_FOR_ALL = "setApprovalForAll(address,bool)"
ERC1155_BALANCE_OF = "balanceOf(address,uint256)"
CTF_REDEEM_POSITIONS = "redeemPositions(address,bytes32,bytes32,uint256[])"
# Never on a proxy's allowlist (the contract refuses them): each would let whoever drives the proxy send
# its funds to an address of their choosing.
FORBIDDEN = (
    ERC20_APPROVE,
    "increaseAllowance(address,uint256)",
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
    ERC20_TRANSFER_FROM,
    ERC1155_SET_APPROVAL_FOR_ALL,
    "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
)

SETTLEMENT_TUPLE = "(bytes32,address,uint8,uint256,uint256,uint256,uint256)"
SETTLE = f"settle({SETTLEMENT_TUPLE}[])"
SETTLED_EVENT = "Settled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256)"


class SettleSide(IntEnum):
    BUY = 0  # the worker bought with its float: shares to the proxy, the cost back to the worker
    SELL = 1  # the worker sold the proxy's shares: the proceeds to the proxy


@dataclass(frozen=True, slots=True)
class Settlement:
    """One copy's settlement in ``PolyHunterExecutor.settle``; ``copy_id`` is settled at most once on chain."""

    copy_id: bytes  # 32 bytes
    proxy: str
    side: SettleSide
    token_id: int
    shares: int
    collateral: int
    fee: int

    def as_tuple(self) -> tuple[object, ...]:
        if len(self.copy_id) != 32:
            raise AbiError(f"copy id must be 32 bytes: {self.copy_id!r}")
        return (
            self.copy_id,
            self.proxy,
            int(self.side),
            self.token_id,
            self.shares,
            self.collateral,
            self.fee,
        )


def selector(signature: str) -> bytes:
    return function_selector(signature)


# --- factory --------------------------------------------------------------------------------------------


def create_proxy(user: str) -> bytes:
    return encode_call("createProxy(address)", [user])


def predict_proxy(user: str) -> bytes:
    return encode_call("predictProxy(address)", [user])


def proxy_of(user: str) -> bytes:
    return encode_call("proxyOf(address)", [user])


def is_proxy(proxy: str) -> bytes:
    return encode_call("isProxy(address)", [proxy])


def add_default_allowed(target: str, function_signature: str) -> bytes:
    return encode_call("addDefaultAllowed(address,bytes4)", [target, selector(function_signature)])


def set_proxy_allowed(proxy: str, target: str, function_signature: str, allowed: bool) -> bytes:
    return encode_call(
        "setProxyAllowed(address,address,bytes4,bool)", [proxy, target, selector(function_signature), allowed]
    )


def pause_proxy(proxy: str, paused: bool) -> bytes:
    return encode_call("pauseProxy(address,bool)", [proxy, paused])


def bind_proxy_executor(proxy: str, executor: str) -> bytes:
    return encode_call("bindProxyExecutor(address,address)", [proxy, executor])


def proxy_salt(user: str) -> bytes:
    return encode(["address"], [user])


def create2_address(deployer: str, salt: bytes, init_code: bytes) -> str:
    """``address(keccak256(0xff ++ deployer ++ salt ++ keccak256(init_code))[12:])``, lower case."""
    raw = bytes.fromhex(deployer.removeprefix("0x"))
    if len(raw) != 20 or len(salt) != 32:
        raise AbiError("create2 needs a 20-byte deployer and a 32-byte salt")
    return "0x" + keccak256(b"\xff" + raw + salt + keccak256(init_code))[12:].hex()


def predicted_proxy_address(factory: str, user: str, proxy_creation_code: bytes) -> str:
    """The factory's ``predictProxy(user)`` computed off chain from the proxy's creation code."""
    return create2_address(factory, proxy_salt(user), proxy_creation_code + encode(["address"], [user]))


# --- proxy ----------------------------------------------------------------------------------------------


def proxy_execute(target: str, data: bytes) -> bytes:
    return encode_call("execute(address,bytes)", [target, data])


def proxy_withdraw(token: str, to: str, amount: int) -> bytes:
    return encode_call("withdraw(address,address,uint256)", [token, to, amount])


def proxy_withdraw_shares(token: str, token_id: int, to: str, amount: int) -> bytes:
    return encode_call("withdrawShares(address,uint256,address,uint256)", [token, token_id, to, amount])


def proxy_set_paused(paused: bool) -> bytes:
    return encode_call("setPaused(bool)", [paused])


def proxy_approve_token(token: str, spender: str, amount: int) -> bytes:
    """The owner's ERC-20 approval from the proxy (DIRECT mode: an exchange takes the order's collateral)."""
    return encode_call("approveToken(address,address,uint256)", [token, spender, amount])


def proxy_approve_operator(token: str, operator: str, approved: bool) -> bytes:
    """The owner's ERC-1155 operator approval from the proxy (DIRECT mode: an exchange moves its shares)."""
    return encode_call("approveOperator(address,address,bool)", [token, operator, approved])


def erc20_allowance(owner: str, spender: str) -> bytes:
    return encode_call("allowance(address,address)", [owner, spender])


def erc1155_is_approved_for_all(owner: str, operator: str) -> bytes:
    return encode_call("isApprovedForAll(address,address)", [owner, operator])


def is_valid_signature(digest: bytes, signature: bytes) -> bytes:
    return encode_call("isValidSignature(bytes32,bytes)", [digest, signature])


ERC1271_MAGIC = bytes.fromhex("1626ba7e")


# --- executor -------------------------------------------------------------------------------------------


def set_worker(worker: str, listed: bool) -> bytes:
    return encode_call("setWorker(address,bool)", [worker, listed])


def set_executor_allowed(target: str, function_signature: str, allowed: bool) -> bytes:
    return encode_call("setAllowed(address,bytes4,bool)", [target, selector(function_signature), allowed])


def set_executor_paused(paused: bool) -> bytes:
    return encode_call("setPaused(bool)", [paused])


def set_factory(factory: str) -> bytes:
    return encode_call("setFactory(address)", [factory])


def executor_execute(proxy: str, target: str, data: bytes) -> bytes:
    return encode_call("execute(address,address,bytes)", [proxy, target, data])


def pull_shares(proxy: str, token_id: int, amount: int) -> bytes:
    return encode_call("pullShares(address,uint256,uint256)", [proxy, token_id, amount])


def executor_redeem(proxy: str, condition_id: bytes, index_sets: Sequence[int]) -> bytes:
    """The executor has the proxy redeem a resolved market's positions; the payout stays in the proxy."""
    return encode_call("redeem(address,bytes32,uint256[])", [proxy, condition_id, list(index_sets)])


def settle(items: Sequence[Settlement]) -> bytes:
    return encode_call(SETTLE, [[item.as_tuple() for item in items]])


def settled(copy_id: bytes) -> bytes:
    return encode_call("settled(bytes32)", [copy_id])


# --- tokens ---------------------------------------------------------------------------------------------


def erc20_transfer(to: str, amount: int) -> bytes:
    return encode_call(ERC20_TRANSFER, [to, amount])


def erc20_transfer_from(sender: str, to: str, amount: int) -> bytes:
    return encode_call(ERC20_TRANSFER_FROM, [sender, to, amount])


def erc20_approve(spender: str, amount: int) -> bytes:
    return encode_call(ERC20_APPROVE, [spender, amount])


def erc20_balance_of(who: str) -> bytes:
    return encode_call(ERC20_BALANCE_OF, [who])


def erc1155_balance_of(who: str, token_id: int) -> bytes:
    return encode_call(ERC1155_BALANCE_OF, [who, token_id])


def erc1155_set_approval_for_all(operator: str, approved: bool) -> bytes:
    return encode_call(ERC1155_SET_APPROVAL_FOR_ALL, [operator, approved])


def erc1155_safe_transfer_from(sender: str, to: str, token_id: int, amount: int) -> bytes:
    return encode_call(ERC1155_SAFE_TRANSFER_FROM, [sender, to, token_id, amount, b""])


def ctf_set_condition(condition_id: bytes, position_ids: Sequence[int]) -> bytes:
    """``TestOutcomes`` only: a condition's position id per outcome slot."""
    return encode_call("setCondition(bytes32,uint256[])", [condition_id, list(position_ids)])


def ctf_report_payouts(condition_id: bytes, numerators: Sequence[int]) -> bytes:
    """``TestOutcomes`` only: the condition resolved with these payout numerators."""
    return encode_call("reportPayouts(bytes32,uint256[])", [condition_id, list(numerators)])


# --- results --------------------------------------------------------------------------------------------


def decode_address(data: bytes) -> str:
    (value,) = decode(["address"], data)
    return str(value)


def decode_uint(data: bytes) -> int:
    (value,) = decode(["uint256"], data)
    if not isinstance(value, int):
        raise AbiError(f"uint expected: {value!r}")
    return value


def decode_bool(data: bytes) -> bool:
    (value,) = decode(["bool"], data)
    return value is True
