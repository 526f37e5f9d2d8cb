"""EOA executor: the follower's own key signs V2 orders that are posted to the CLOB.

* FOK/FAK copies are signed as market orders (USDC amount for BUY, shares for SELL) with the
  slippage-bounded limit as the worst price, as the official client does.
* Before the POST the order hash is recorded (`record_submit`), so a crash or a timeout leaves the
  hash behind; `reconcile` asks the venue about that exact order (its record, then its trade records:
  an order record that is missing or shows no fill is not taken as proof nothing filled) and never
  resubmits.
* An order refused with ``order_version_mismatch`` (the venue moved to another exchange version: it
  placed nothing) is signed again for the version ``GET /version`` now serves and sent once more; a
  second mismatch fails the copy (REJECTED) with that text.
* An order the venue answers ``delayed`` (accepted, matched after a delay) is an unknown result: the
  copy stays PENDING and the sweep reconciles it once the venue has decided.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.chain.tx_signer import TxSigner
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import RetryableError, VenueAuthError, VenueError
from polyhunter.adapters.polymarket.order_errors import (
    is_killed_unfilled,
    is_market_closed,
    is_version_mismatch,
    tick_of_violation,
)
from polyhunter.adapters.polymarket.order_factory import limit_order, market_order
from polyhunter.adapters.polymarket.order_signer import SignatureType, SignedOrder, exchange_domain
from polyhunter.adapters.polymarket.wire_clob_rest import BalanceAllowance, PostOrderResponse
from polyhunter.domain.errors import OperatorNeededError
from polyhunter.domain.lifecycle import fee_of_levels, taker_fee
from polyhunter.domain.order_math import market_buy_spend
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.execution.chain_redeem import ChainRedeemer
from polyhunter.execution.recent import RecentMap
from polyhunter.log import get_logger

log = get_logger(__name__)

MICRO = Decimal(1_000_000)
TRADE_PAGES = 20  # at most this many pages of the token's trades are read to find one order's fills
END_CURSOR = "LTE="
RecordSubmit = Callable[[OrderRequest, SignedOrder], Awaitable[None]]
LookupSubmit = Callable[[OrderRequest], Awaitable[str | None]]


class NoWalletError(OperatorNeededError, LookupError):
    """No EOA wallet is configured for the follower a config names (removed from the run file?)."""


def _refused(error: str, order_id: str) -> ExecutionResult:
    """An order the venue filled nothing of: KILLED when its answer says it killed the FOK/FAK (nothing
    spent), else REJECTED. `error` (the venue's text) is kept for the copy's record."""
    status = ExecStatus.KILLED if is_killed_unfilled(error) else ExecStatus.REJECTED
    return ExecutionResult(
        status,
        error=error,
        venue_order_id=order_id,
        market_closed=is_market_closed(error),
        venue_tick=tick_of_violation(error),
    )


@dataclass(frozen=True, slots=True)
class _VersionMismatch:
    """The venue refused an order as signed for another exchange version (nothing was placed)."""

    message: str


def _answered(
    resp: PostOrderResponse, request: OrderRequest, signed: SignedOrder
) -> ExecutionResult | _VersionMismatch:
    """The result of an order the venue answered with 2xx."""
    if not resp.success or resp.error_msg:
        if is_version_mismatch(None, resp.error_msg):
            return _VersionMismatch(resp.error_msg)
        return _refused(resp.error_msg or "rejected", signed.order_hash)
    if resp.status.lower() == "delayed":  # accepted, matched later (or not): the sweep reconciles it
        log.info("order delayed by the venue; left for reconciliation", order=resp.order_id)
        return ExecutionResult(
            ExecStatus.UNKNOWN,
            venue_order_id=resp.order_id or signed.order_hash,
            error="delayed by the venue",
        )
    making, taking = Decimal(resp.making_amount or "0"), Decimal(resp.taking_amount or "0")
    shares, usdc = (taking, making) if request.side is Side.BUY else (making, taking)
    if shares <= 0:
        if resp.status == "live":
            return ExecutionResult(ExecStatus.PARTIAL, venue_order_id=resp.order_id)
        return _refused(f"status {resp.status}", resp.order_id)
    status = ExecStatus.FILLED if shares >= request.shares else ExecStatus.PARTIAL
    return ExecutionResult(
        status,
        shares,
        usdc / shares,
        Decimal(0),
        resp.order_id,
        tx_hashes=tuple(resp.transactions_hashes or ()),
        amount=usdc,
    )


@dataclass(slots=True)
class EoaAccount:
    client: ClobTradingClient
    funder: str  # maker: the EOA itself, or its proxy / Safe / deposit wallet
    signature_type: SignatureType
    tx_signer: TxSigner | None = None  # the same key, for the wallet's own chain transactions
    # POLY_1271 with a plain signature: the funder is a contract that checks the key itself (a DIRECT proxy)
    contract_signed: bool = False


class EoaExecutor:
    remote_funds = True  # balances and allowances come from the venue's /balance-allowance

    def __init__(
        self,
        accounts: dict[int, EoaAccount],
        *,
        chain_id: int,
        order_version: int = 2,
        record_submit: RecordSubmit | None = None,
        lookup_submit: LookupSubmit | None = None,
        remember_s: float | None = None,
        fee_rate: Callable[[str], Awaitable[Decimal]] | None = None,
        redeemer: ChainRedeemer | None = None,
    ) -> None:
        """`remember_s`: how long this process remembers the order hash it sent for a copy (the
        journal, `lookup_submit`, remembers it for good). `fee_rate`: the market's taker fee rate,
        for a fill whose trade records cannot be read."""
        self._fee_rate = fee_rate
        self._redeemer = redeemer
        self._accounts = accounts
        self._chain_id = chain_id
        self._version = order_version
        self._record_submit = record_submit
        self._lookup_submit = lookup_submit
        self._submitted: RecentMap[str, str] = RecentMap(max_age_s=remember_s)  # client id -> hash

    def add_account(self, user_id: int, account: EoaAccount) -> None:
        """A follower added while running (through the API)."""
        self._accounts[user_id] = account

    def has_account(self, user_id: int) -> bool:
        return user_id in self._accounts

    def _account(self, user_id: int) -> EoaAccount:
        acct = self._accounts.get(user_id)
        if acct is None:
            raise NoWalletError("NO_WALLET", f"no EOA wallet configured for user {user_id}")
        return acct

    def funder(self, user_id: int) -> str:
        """The address that holds the follower's funds and positions (the order's maker)."""
        return self._account(user_id).funder

    @property
    def order_version(self) -> int:
        """The exchange version orders are signed for (re-read from the venue on a mismatch)."""
        return self._version

    def sign(self, request: OrderRequest) -> SignedOrder:
        """FOK/FAK: a market order (USDC to spend for BUY, shares for SELL) with the limit as worst price;
        GTC/GTD: a limit order. Built exactly like the official client's builders."""
        acct = self._account(request.user_id)
        signer, token, tick = acct.client.signer, int(request.token_id), request.tick_size
        if request.order_type in (OrderType.FOK, OrderType.FAK):
            buying = request.side is Side.BUY
            amount = market_buy_spend(request.shares, request.limit_price) if buying else request.shares
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
        domain = exchange_domain(self._chain_id, self._version, request.neg_risk)
        if acct.contract_signed:
            return signer.sign_for_contract(order, domain)
        return signer.sign(order, domain)

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        result = await self._execute(request)
        if result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL) and result.filled_shares > 0:
            fee = await self._fee(self._account(request.user_id), result, request)
            result = dataclasses.replace(result, fee=fee)
        return result

    async def _fee(self, acct: EoaAccount, result: ExecutionResult, request: OrderRequest) -> Decimal:
        """The taker fee the venue charged for the fill: from its trade records (each maker leg at its
        price, the trade's fee rate, rounded once as the venue does); without them, the fee formula on
        the average price with the market's rate."""
        wanted = result.venue_order_id.lower()
        try:
            page = await acct.client.trades(asset_id=request.token_id)
            for trade in page.data:
                if trade.taker_order_id.lower() == wanted and trade.status != "FAILED":
                    rate = Decimal(trade.fee_rate_bps or "0") / 10_000
                    legs = [(Decimal(m.price), Decimal(m.matched_amount)) for m in trade.maker_orders]
                    return fee_of_levels(legs, rate)
        except Exception as exc:  # noqa: BLE001 - the fee falls back to the formula, never fails a fill
            log.warning("trade records unreadable; fee from the formula", order=wanted, error=str(exc))
        if self._fee_rate is None:
            return Decimal(0)
        try:
            rate = await self._fee_rate(request.token_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("fee rate unreadable; fee recorded as 0", token=request.token_id, error=str(exc))
            return Decimal(0)
        return taker_fee(result.filled_shares, result.avg_price, rate)

    async def _execute(self, request: OrderRequest) -> ExecutionResult:
        acct = self._account(request.user_id)
        signed = self.sign(request)
        result = await self._submit(acct, request, signed)
        if not isinstance(result, _VersionMismatch):
            return result
        # Refused, nothing placed: the venue serves another exchange version. Re-read it, sign again, once.
        old = self._version
        self._version = await acct.client.order_version()
        log.warning("order version mismatch; re-signing", order=signed.order_hash, old=old, new=self._version)
        resigned = self.sign(request)
        again = await self._submit(acct, request, resigned)
        if isinstance(again, _VersionMismatch):
            return ExecutionResult(
                ExecStatus.REJECTED,
                error=f"{again.message} (signed again for order version {self._version}: still refused)",
                venue_order_id=resigned.order_hash,
            )
        return again

    async def _submit(
        self, acct: EoaAccount, request: OrderRequest, signed: SignedOrder
    ) -> ExecutionResult | _VersionMismatch:
        """Record the hash, post the order once; a version mismatch is handed back to `execute`."""
        if self._record_submit is not None:
            await self._record_submit(request, signed)
        self._submitted[request.client_id] = signed.order_hash
        try:
            resp = await acct.client.post_order(signed, str(request.order_type))
        except VenueAuthError:
            raise  # nothing was placed; an operator must fix the credentials (the config is paused)
        except VenueError as exc:
            if is_version_mismatch(exc.status, exc.message):
                return _VersionMismatch(exc.message)
            return _refused(exc.message, signed.order_hash)
        except (RetryableError, TimeoutError, OSError) as exc:
            log.warning("order submit result unknown", order=signed.order_hash, error=str(exc))
            try:
                found = await self._query(acct, signed.order_hash, request)
            except RetryableError:
                found = None  # cannot tell now: the sweep asks again
            if found is not None:
                return found
            return ExecutionResult(
                ExecStatus.UNKNOWN, venue_order_id=signed.order_hash, error=str(exc), retryable=True
            )
        return _answered(resp, request, signed)

    async def _query(
        self, acct: EoaAccount, order_hash: str, request: OrderRequest
    ) -> ExecutionResult | None:
        """What the venue knows of this order: its order record, else its trade records; None if it
        shows neither. Raises RetryableError when neither could be read (nothing can be concluded)."""
        try:
            order = await acct.client.get_order(order_hash)
        except (RetryableError, VenueError, OSError) as exc:
            log.warning("order lookup failed; checking trades", order=order_hash, error=str(exc))
            order = None
        if order is not None and Decimal(order.size_matched) > 0:
            return ExecutionResult(
                ExecStatus.FILLED, Decimal(order.size_matched), Decimal(order.price), Decimal(0), order_hash
            )
        try:
            traded = await self._traded(acct, order_hash, request)
        except (RetryableError, VenueError, OSError) as exc:
            log.warning("trade lookup failed", order=order_hash, error=str(exc))
            if order is None:
                raise RetryableError(
                    f"order {order_hash}: neither its record nor its trades readable"
                ) from exc
            traded = None
        if traded is not None:
            return traded
        if order is not None and order.status.upper() == "DELAYED":
            raise RetryableError(f"order {order_hash} still delayed by the venue")  # ask again later
        if order is not None:  # the venue has the order and no fill of it: killed or refused
            return _refused(f"venue status {order.status}", order_hash)
        return None

    async def _traded(
        self, acct: EoaAccount, order_hash: str, request: OrderRequest
    ) -> ExecutionResult | None:
        """The fill of `order_hash` from the venue's trade records (as taker or as a maker leg) in the
        copy's token; None if there is none."""
        wanted = order_hash.lower()
        shares = usdc = Decimal(0)
        tx_hashes: list[str] = []
        cursor: str | None = None
        for _ in range(TRADE_PAGES):
            page = await acct.client.trades(asset_id=request.token_id, cursor=cursor)
            for trade in page.data:
                if trade.status == "FAILED":
                    continue
                legs = [(trade.size, trade.price)] if trade.taker_order_id.lower() == wanted else []
                legs += [
                    (m.matched_amount, m.price) for m in trade.maker_orders if m.order_id.lower() == wanted
                ]
                for size, price in legs:
                    shares += Decimal(size)
                    usdc += Decimal(size) * Decimal(price)
                if legs and trade.transaction_hash:
                    tx_hashes.append(trade.transaction_hash)
            if page.next_cursor in ("", END_CURSOR) or not page.data:
                break
            cursor = page.next_cursor
        if shares <= 0:
            return None
        status = ExecStatus.FILLED if shares >= request.shares else ExecStatus.PARTIAL
        return ExecutionResult(
            status, shares, usdc / shares, Decimal(0), order_hash, tx_hashes=tuple(tx_hashes), amount=usdc
        )

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        order_hash = self._submitted.get(request.client_id)
        if order_hash is None and self._lookup_submit is not None:
            order_hash = await self._lookup_submit(request)
        if order_hash is None:
            return None  # never signed, so never sent
        acct = self._account(request.user_id)
        found = await self._query(acct, order_hash, request)
        if (
            found is not None
            and found.status in (ExecStatus.FILLED, ExecStatus.PARTIAL)
            and found.filled_shares > 0
        ):
            found = dataclasses.replace(
                found, fee=await self._fee(acct, found, request)
            )  # its fee, as for a fill
        return found

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

    # -------------------------------------------------------------------------- resolved markets

    async def held(self, user_id: int, tokens: tuple[str, ...]) -> dict[str, Decimal]:
        return {t: (await self.shares(user_id, t)).balance for t in tokens}

    async def redeem(
        self, user_id: int, condition_id: str, tokens: tuple[str, ...], winning_token: str
    ) -> Decimal:
        """Redeem the wallet's shares of a resolved market. With a chain node (``redeemer``) and the
        wallet's own key holding the shares: its ``redeemPositions`` transaction, then the venue is told
        to re-read the wallet. Otherwise the simulator's redeem endpoint (its stand-in for that
        transaction; a live venue refuses it and the redemption stays PENDING for an operator)."""
        acct = self._account(user_id)
        signer = acct.tx_signer
        own = acct.funder.lower() == acct.client.signer.address.lower()
        if self._redeemer is None or signer is None or not own or not await self._redeemer.available():
            return await acct.client.sim_redeem(condition_id)
        paid = await self._redeemer.redeem(signer, acct.funder, condition_id)
        try:
            await acct.client.update_balance_allowance("COLLATERAL", signature_type=int(acct.signature_type))
        except (VenueError, RetryableError) as exc:  # the payout is on chain; the venue re-reads later
            log.warning("eoa.venue_refresh_failed", error=str(exc))
        return paid
