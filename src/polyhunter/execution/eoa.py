"""EOA executor: the follower's own key signs V2 orders that are posted to the CLOB.

* FOK/FAK copies are signed as market orders (USDC amount for BUY, shares for SELL) with the
  slippage-bounded limit as the worst price, as the official client does.
* Before the POST the order hash is recorded (`record_submit`), so a crash or a timeout leaves the
  hash behind; `reconcile` asks the venue about that exact order (its record, then its trades) and
  never resubmits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import RetryableError, VenueError
from polyhunter.adapters.polymarket.wire_clob_rest import BalanceAllowance
from polyhunter.domain.order_math import round_down
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.execution.order_factory import limit_order, market_order
from polyhunter.execution.recent import RecentMap
from polyhunter.execution.signer import SignatureType, SignedOrder, exchange_domain
from polyhunter.log import get_logger

log = get_logger(__name__)

MICRO = Decimal(1_000_000)
RecordSubmit = Callable[[OrderRequest, SignedOrder], Awaitable[None]]
LookupSubmit = Callable[[OrderRequest], Awaitable[str | None]]


@dataclass(slots=True)
class EoaAccount:
    client: ClobTradingClient
    funder: str  # maker: the EOA itself, or its proxy / Safe / deposit wallet
    signature_type: SignatureType


class EoaExecutor:
    def __init__(
        self,
        accounts: dict[int, EoaAccount],
        *,
        chain_id: int,
        order_version: int = 2,
        record_submit: RecordSubmit | None = None,
        lookup_submit: LookupSubmit | None = None,
    ) -> None:
        self._accounts = accounts
        self._chain_id = chain_id
        self._version = order_version
        self._record_submit = record_submit
        self._lookup_submit = lookup_submit
        self._submitted: RecentMap[str, str] = RecentMap()  # client id -> order hash (this process)

    def _account(self, user_id: int) -> EoaAccount:
        acct = self._accounts.get(user_id)
        if acct is None:
            raise LookupError(f"no EOA wallet configured for user {user_id}")
        return acct

    def sign(self, request: OrderRequest) -> SignedOrder:
        """FOK/FAK: a market order (USDC to spend for BUY, shares for SELL) with the limit as worst price;
        GTC/GTD: a limit order. Built exactly like the official client's builders."""
        acct = self._account(request.user_id)
        signer, token, tick = acct.client.signer, int(request.token_id), request.tick_size
        if request.order_type in (OrderType.FOK, OrderType.FAK):
            buying = request.side is Side.BUY
            amount = round_down(request.shares * request.limit_price, 2) if buying else request.shares
            order = market_order(
                signer,
                token_id=token,
                side=request.side,
                amount=amount,
                price=request.limit_price,
                tick=tick,
                funder=acct.funder,
                signature_type=acct.signature_type,
            )
        else:
            order = limit_order(
                signer,
                token_id=token,
                side=request.side,
                size=request.shares,
                price=request.limit_price,
                tick=tick,
                funder=acct.funder,
                signature_type=acct.signature_type,
            )
        return signer.sign(order, exchange_domain(self._chain_id, self._version, request.neg_risk))

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        acct = self._account(request.user_id)
        signed = self.sign(request)
        if self._record_submit is not None:
            await self._record_submit(request, signed)
        self._submitted[request.client_id] = signed.order_hash
        try:
            resp = await acct.client.post_order(signed, str(request.order_type))
        except VenueError as exc:
            return ExecutionResult(ExecStatus.REJECTED, error=exc.message, venue_order_id=signed.order_hash)
        except (RetryableError, TimeoutError, OSError) as exc:
            log.warning("order submit result unknown", order=signed.order_hash, error=str(exc))
            found = await self._query(acct, signed.order_hash)
            if found is not None:
                return found
            return ExecutionResult(
                ExecStatus.UNKNOWN, venue_order_id=signed.order_hash, error=str(exc), retryable=True
            )
        if not resp.success or resp.error_msg:
            return ExecutionResult(
                ExecStatus.REJECTED, error=resp.error_msg or "rejected", venue_order_id=signed.order_hash
            )
        making, taking = Decimal(resp.making_amount or "0"), Decimal(resp.taking_amount or "0")
        shares, usdc = (taking, making) if request.side is Side.BUY else (making, taking)
        if shares <= 0:
            if resp.status == "live":
                return ExecutionResult(ExecStatus.PARTIAL, venue_order_id=resp.order_id)
            return ExecutionResult(
                ExecStatus.REJECTED, error=f"status {resp.status}", venue_order_id=resp.order_id
            )
        status = ExecStatus.FILLED if shares >= request.shares else ExecStatus.PARTIAL
        return ExecutionResult(
            status,
            shares,
            usdc / shares,
            Decimal(0),
            resp.order_id,
            tx_hashes=tuple(resp.transactions_hashes or ()),
        )

    async def _query(self, acct: EoaAccount, order_hash: str) -> ExecutionResult | None:
        """What the venue knows of this order: None if it never saw it (or we cannot tell)."""
        try:
            order = await acct.client.get_order(order_hash)
        except (RetryableError, VenueError, OSError) as exc:
            log.warning("order lookup failed", order=order_hash, error=str(exc))
            return None
        if order is None:
            return None
        matched = Decimal(order.size_matched)
        if matched <= 0:
            return ExecutionResult(
                ExecStatus.REJECTED, error=f"venue status {order.status}", venue_order_id=order_hash
            )
        return ExecutionResult(ExecStatus.FILLED, matched, Decimal(order.price), Decimal(0), order_hash)

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        order_hash = self._submitted.get(request.client_id)
        if order_hash is None and self._lookup_submit is not None:
            order_hash = await self._lookup_submit(request)
        if order_hash is None:
            return None  # never signed, so never sent
        return await self._query(self._account(request.user_id), order_hash)

    def _funds(self, ba: BalanceAllowance) -> Funds:
        """Balance and the two V2 exchanges' allowances (the spenders the orders are signed for).

        A spender the venue does not list is taken as not reported (None), not as zero: the answer's
        shape differs across venue versions, and the venue itself refuses an order it cannot settle.
        """
        allowances = {k.lower(): v for k, v in (ba.allowances or {}).items()}

        def of(neg_risk: bool) -> Decimal | None:
            spender = exchange_domain(self._chain_id, self._version, neg_risk).verifying_contract.lower()
            raw = allowances.get(spender, ba.allowance)
            return Decimal(raw) / MICRO if raw is not None else None

        return Funds(Decimal(ba.balance) / MICRO, of(False), of(True))

    async def collateral(self, user_id: int) -> Funds:
        acct = self._account(user_id)
        ba = await acct.client.balance_allowance("COLLATERAL", signature_type=int(acct.signature_type))
        return self._funds(ba)

    async def shares(self, user_id: int, token_id: str) -> Funds:
        acct = self._account(user_id)
        ba = await acct.client.balance_allowance("CONDITIONAL", token_id, int(acct.signature_type))
        return self._funds(ba)
