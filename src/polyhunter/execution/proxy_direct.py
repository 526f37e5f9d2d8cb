"""DIRECT mode of proxy custody: the follower's proxy is the maker of its own orders.

An order's ``maker`` and ``signer`` are the proxy, its signature type is 3 (POLY_1271), and its signature
is a listed fleet worker's plain ECDSA signature of the order's EIP-712 digest: the proxy's EIP-1271
``isValidSignature`` accepts it while the worker is listed on the bound executor and neither is paused.
The exchange then settles the match from and to the proxy itself, atomically: no worker float, no
reimbursement; the copy is EXECUTED as the venue answers. The worker signs and posts (its CLOB API key);
for an order it sends no transaction, so it needs no nonce and no signer mutex there.

The proxy must have approved the exchanges (pUSD allowance, ConditionalTokens operator): only its owner
can (``approveToken`` / ``approveOperator``, ``polyhunter proxy approve``). Funds for the engine's
preflight are the proxy's on chain: its pUSD and the exchange's allowance, its shares and the exchange's
operator approval.

The platform's commission is not the exchange's: ``ProxyExecutor`` queues it per copy (``commission_only``
settlement rows) and the settlement loop pays it from the proxy to the treasury in batches, through the
executor's ``settle`` (the proxy's allowlisted pUSD ``transfer``, to the treasury only). Workers send those
transactions (gas), never with a float of their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.order_signer import SignatureType, exchange_domain
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderRequest
from polyhunter.execution.eoa import EoaAccount, EoaExecutor, LookupSubmit, RecordSubmit

MICRO = Decimal(1_000_000)
DIRECT_SIGNATURE_TYPE = int(SignatureType.POLY_1271)  # a PROXY wallet with this signature type is DIRECT
NO_SIGNER = "NO_WALLET: no unpaused fleet worker to sign for the proxy"
UNLIMITED = 10**21  # an allowance this large (1e15 USDC) counts as unlimited
MAX_UINT256 = 2**256 - 1


@dataclass(frozen=True, slots=True)
class OwnerCall:
    """A transaction the proxy's owner sends to the proxy (only the owner may approve anything)."""

    what: str
    to: str  # the proxy
    data: bytes


async def missing_approvals(
    rpc: JsonRpcClient, proxy: str, collateral: str, ctf: str, spenders: Iterable[str]
) -> list[OwnerCall]:
    """What the proxy still needs for DIRECT orders: for each spender (the exchanges), an unlimited pUSD
    allowance and the ConditionalTokens operator approval, each given by the owner through the proxy."""
    proxy = proxy.lower()
    out: list[OwnerCall] = []
    for spender in dict.fromkeys(s.lower() for s in spenders):
        allowance = cc.decode_uint(await rpc.call_contract(collateral, cc.erc20_allowance(proxy, spender)))
        if allowance < UNLIMITED:
            data = cc.proxy_approve_token(collateral, spender, MAX_UINT256)
            out.append(OwnerCall(f"pUSD allowance of {spender} (unlimited)", proxy, data))
        approved = await rpc.call_contract(ctf, cc.erc1155_is_approved_for_all(proxy, spender))
        if not cc.decode_bool(approved):
            data = cc.proxy_approve_operator(ctf, spender, True)
            out.append(OwnerCall(f"outcome-share approval of {spender}", proxy, data))
    return out


class DirectOrders:
    """The orders of DIRECT followers (user id -> proxy), signed and posted by the fleet's workers in turn."""

    def __init__(
        self,
        proxies: Mapping[int, str],
        workers: Mapping[int, ClobTradingClient],  # unpaused fleet wallet id -> its CLOB client
        rpc: JsonRpcClient,
        *,
        collateral: str,
        ctf: str,
        chain_id: int,
        order_version: int,
        record_submit: RecordSubmit | None = None,
        lookup_submit: LookupSubmit | None = None,
        remember_s: float | None = None,
        fee_rate: Callable[[str], Awaitable[Decimal]] | None = None,
    ) -> None:
        self._proxies = {uid: p.lower() for uid, p in proxies.items()}
        self._rpc = rpc
        self._collateral = collateral
        self._ctf = ctf
        self._chain_id = chain_id
        # one executor per worker, each with an account per DIRECT follower: funder = the proxy, type 3
        self._by_worker: dict[int, EoaExecutor] = {
            wid: EoaExecutor(
                {
                    uid: EoaAccount(client, proxy, SignatureType.POLY_1271, contract_signed=True)
                    for uid, proxy in self._proxies.items()
                },
                chain_id=chain_id,
                order_version=order_version,
                record_submit=record_submit,
                lookup_submit=lookup_submit,
                remember_s=remember_s,
                fee_rate=fee_rate,
            )
            for wid, client in workers.items()
        }
        self._turn = itertools.cycle(sorted(self._by_worker))
        self._version = order_version

    def serves(self, user_id: int) -> bool:
        return user_id in self._proxies

    @property
    def users(self) -> Sequence[int]:
        return sorted(self._proxies)

    def worker_ids(self) -> list[int]:
        return sorted(self._by_worker)

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        if not self._by_worker:
            return ExecutionResult(ExecStatus.REJECTED, error=NO_SIGNER)
        executor = self._by_worker[next(self._turn)]
        result = await executor.execute(request)
        self._version = executor.order_version  # a re-sign for another exchange version is kept
        return result

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        """After a crash: whichever worker posted this copy's order (its hash is journaled) and the venue
        knows it under that worker's API key."""
        for executor in self._by_worker.values():
            found = await executor.reconcile(request)
            if found is not None:
                return found
        return None

    # --- funds on chain (the engine's preflight) ---------------------------------------------------------

    async def _uint(self, to: str, data: bytes) -> int:
        return cc.decode_uint(await self._rpc.call_contract(to, data))

    def _exchanges(self) -> tuple[str, str]:
        """The exchanges the orders are signed for: (the CTF exchange, the neg-risk exchange)."""
        return (
            exchange_domain(self._chain_id, self._version, False).verifying_contract,
            exchange_domain(self._chain_id, self._version, True).verifying_contract,
        )

    async def collateral(self, user_id: int) -> Funds:
        """The proxy's pUSD on chain and each exchange's allowance of it."""
        proxy = self._proxies[user_id]
        balance = await self._uint(self._collateral, cc.erc20_balance_of(proxy))
        plain, neg = [
            Decimal(await self._uint(self._collateral, cc.erc20_allowance(proxy, e))) / MICRO
            for e in self._exchanges()
        ]
        return Funds(Decimal(balance) / MICRO, plain, neg)

    async def shares(self, user_id: int, token_id: str) -> Funds:
        """The proxy's shares of ``token_id`` on chain; an exchange it has not approved may move none."""
        proxy = self._proxies[user_id]
        held = Decimal(await self._uint(self._ctf, cc.erc1155_balance_of(proxy, int(token_id)))) / MICRO

        async def allowed(exchange: str) -> Decimal | None:
            data = cc.erc1155_is_approved_for_all(proxy, exchange)
            return None if cc.decode_bool(await self._rpc.call_contract(self._ctf, data)) else Decimal(0)

        plain, neg = self._exchanges()
        return Funds(held, await allowed(plain), await allowed(neg))
