"""PROXY custody's executor: a fleet worker trades on the CLOB with its own float for a follower whose money
is in their proxy contract; the copy is then ``SETTLEMENT_PENDING`` and its settlement (shares and
collateral between the worker and the proxy, the commission to the treasury) is queued for
``ProxySettler``. A SELL first pulls the proxy's shares to the worker through the executor contract.

Redemption (the market lifecycle's ``Redeemer``): a resolved market the proxy holds is redeemed by the proxy
itself through the executor contract (``redeem``: ConditionalTokens ``redeemPositions`` pays its caller, the
proxy), once every copy in it is settled (before that its shares are still with a worker: the lifecycle
tries again at its next poll).

Fees: the venue's taker fee is the worker's to get back. A BUY's settlement reimburses the worker the notional
plus the venue fee it paid; a SELL's pays the proxy the proceeds less the venue fee the worker was charged.
The platform's commission (``FeeSchedule``) is on the gross notional (the trade's size, fees excluded), and
its profit share on the net proceeds over the average cost the proxy paid (venue fees in both), so the
proxy bears every fee and the worker's float ends where it started. The copy records the gross notional
and, as its fees, the venue's fee plus the commission.

Float: a worker carries at most its ``float_limit`` of BUY cost not yet paid back (unsettled settlements,
open debts, and BUYs in flight); a copy no worker can carry is refused with ``FLEET_FLOAT_LIMIT``.

DIRECT followers (``direct``, ``execution/proxy_direct.py``): their proxy is the maker of its own orders,
signed by a worker (EIP-1271); their orders, funds and reconciliation are ``DirectOrders``'. Only the
platform's commission is queued for settlement (a ``commission_only`` row: proxy -> treasury, paid in
batches by the settlement loop through the executor's ``settle``, logged per copy in ``commission_logs``).
Redemption is the same for both modes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import event_topic
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.commission import FeeSchedule
from polyhunter.domain.orders import ExecStatus, ExecutionResult, Funds, OrderRequest
from polyhunter.domain.signal import Side, to_micro
from polyhunter.execution.eoa import EoaExecutor
from polyhunter.execution.proxy_direct import DirectOrders
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.log import get_logger
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.settlements import NewSettlement, SettlementRepository

log = get_logger(__name__)

FLOAT_LIMIT = "FLEET_FLOAT_LIMIT"
MICRO = Decimal(1_000_000)
REDEEMED_TOPIC = event_topic("Redeemed(address,bytes32,uint256)")


class SettlementPendingError(RuntimeError):
    """A redemption asked for before the market's copies are settled (or with no worker to send it)."""


@dataclass(slots=True)
class FleetMember:
    wallet_id: int
    sender: WorkerSender
    float_limit_micro: int
    paused: bool = False


@dataclass(frozen=True, slots=True)
class ProxyChain:
    rpc: JsonRpcClient
    monitor: TxMonitor
    executor: str
    collateral: str
    ctf: str


class ProxyExecutor:
    remote_funds = True  # the proxy's balances are read from the chain

    def __init__(
        self,
        proxies: Mapping[int, str],  # follower user id -> proxy address
        fleet: Mapping[int, FleetMember],  # fleet wallet id -> worker
        clob: EoaExecutor,  # accounts keyed by fleet wallet id
        chain: ProxyChain,
        sessions: async_sessionmaker[AsyncSession],
        fees: FeeSchedule,
        *,
        on_queued: Callable[[], None] | None = None,
        cap_micro: int = 0,
        direct: DirectOrders | None = None,
    ) -> None:
        """``on_queued`` (the settlement loop's wake-up) is called when a proxy owes ``cap_micro`` or more in
        queued settlements; below it the loop's interval batches them."""
        self._proxies = dict(proxies)
        self._fleet = dict(fleet)
        self._clob = clob
        self._chain = chain
        self._sessions = sessions
        self._fees = fees
        self._in_flight: dict[int, int] = {}  # worker -> BUY cost being placed now
        self._pick_lock = asyncio.Lock()
        self._on_queued = on_queued
        self._cap_micro = cap_micro
        self._direct = direct
        self.settler: object = None  # the settlement loop of this executor's copies (set by the custody)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    def proxy(self, user_id: int) -> str:
        return self._proxies[user_id]

    def is_direct(self, user_id: int) -> bool:
        """The follower's proxy makes its own orders (DIRECT mode)."""
        return self._direct is not None and self._direct.serves(user_id)

    async def collateral_balance(self, user_id: int) -> Decimal:
        """The proxy's collateral on chain less what it owes (queued BUY costs, open debts), base units."""
        balance = await self._chain_uint(self._chain.collateral, cc.erc20_balance_of(self.proxy(user_id)))
        return Decimal(balance - await self._owed(user_id))

    # --- funds (the engine's preflight) -----------------------------------------------------------------

    async def _chain_uint(self, to: str, data: bytes) -> int:
        return cc.decode_uint(await self._chain.rpc.call_contract(to, data))

    async def _owed(self, user_id: int) -> int:
        async with unit_of_work(self._sessions) as session:
            ledger = await SettlementRepository(session).ledger(user_id)
            queued = await SettlementRepository(session).unsettled_buy_cost(user_id)
        return ledger.open_debt_micro + queued

    async def collateral(self, user_id: int) -> Funds:
        """What the follower can spend: the proxy's balance less what it owes, and no more than the
        fleet can carry on float right now (DIRECT: the proxy's balance less its queued commissions and
        open debts, and the exchanges' allowances)."""
        if self._direct is not None and self._direct.serves(user_id):
            funds = await self._direct.collateral(user_id)
            owed = Decimal(await self._owed(user_id)) / MICRO
            return replace(funds, balance=max(funds.balance - owed, Decimal(0)))
        proxy = self.proxy(user_id)
        balance = await self._chain_uint(self._chain.collateral, cc.erc20_balance_of(proxy))
        free = max(balance - await self._owed(user_id), 0)
        return Funds(Decimal(min(free, await self._best_float())) / MICRO)

    async def shares(self, user_id: int, token_id: str) -> Funds:
        if self._direct is not None and self._direct.serves(user_id):
            return await self._direct.shares(user_id, token_id)
        held = await self._chain_uint(
            self._chain.ctf, cc.erc1155_balance_of(self.proxy(user_id), int(token_id))
        )
        return Funds(Decimal(held) / MICRO)

    async def _float_used(self) -> dict[int, int]:
        async with unit_of_work(self._sessions) as session:
            used = await SettlementRepository(session).float_in_use()
        for wid, amount in self._in_flight.items():
            used[wid] = used.get(wid, 0) + amount
        return used

    async def _best_float(self) -> int:
        used = await self._float_used()
        free = [m.float_limit_micro - used.get(w, 0) for w, m in self._fleet.items() if not m.paused]
        return max([0, *free])

    async def _pick(self, side: Side, cost: int) -> FleetMember | None:
        """The unpaused worker with the most free float that can carry ``cost`` (any unpaused for a SELL)."""
        used = await self._float_used()
        ranked = sorted(
            (m for m in self._fleet.values() if not m.paused),
            key=lambda m: m.float_limit_micro - used.get(m.wallet_id, 0),
            reverse=True,
        )
        if not ranked:
            return None
        best = ranked[0]
        if side is Side.BUY and best.float_limit_micro - used.get(best.wallet_id, 0) < cost:
            return None
        return best

    # --- execute ----------------------------------------------------------------------------------------

    async def execute(self, request: OrderRequest) -> ExecutionResult:
        if self._direct is not None and self._direct.serves(request.user_id):
            return await self._charge_direct(request, await self._direct.execute(request))
        proxy = self.proxy(request.user_id)
        cost = to_micro(request.shares * request.limit_price) if request.side is Side.BUY else 0
        async with self._pick_lock:
            worker = await self._pick(request.side, cost)
            if worker is None:
                return ExecutionResult(
                    ExecStatus.REJECTED, error=f"{FLOAT_LIMIT}: no fleet worker can carry {cost}"
                )
            self._in_flight[worker.wallet_id] = self._in_flight.get(worker.wallet_id, 0) + cost
        try:
            if request.side is Side.SELL:
                await self._pull(worker, proxy, request)
            result = await self._clob.execute(replace(request, user_id=worker.wallet_id))
            if result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL):
                await self._queue(request, proxy, worker, result)
                result = replace(result, settles_later=True)
            if request.side is Side.SELL:
                await self._return_unsold(worker, proxy, request, result)
            return result
        finally:
            self._in_flight[worker.wallet_id] -= cost

    async def _pull(self, worker: FleetMember, proxy: str, request: OrderRequest) -> None:
        data = cc.pull_shares(proxy, int(request.token_id), to_micro(request.shares))
        tracked = await self._chain.monitor.send(worker.sender, self._chain.executor, data, 300_000)
        await self._chain.monitor.confirmed(tracked)

    async def _return_unsold(
        self, worker: FleetMember, proxy: str, request: OrderRequest, result: ExecutionResult
    ) -> None:
        sold = (
            to_micro(result.filled_shares) if result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL) else 0
        )
        left = to_micro(request.shares) - sold
        if left > 0 and result.status is not ExecStatus.UNKNOWN:
            data = cc.erc1155_safe_transfer_from(worker.sender.address, proxy, int(request.token_id), left)
            tracked = await self._chain.monitor.send(worker.sender, self._chain.ctf, data, 200_000)
            await self._chain.monitor.confirmed(tracked)

    async def _queue(
        self, request: OrderRequest, proxy: str, worker: FleetMember, result: ExecutionResult
    ) -> None:
        shares, notional = to_micro(result.filled_shares), to_micro(result.notional)
        venue_fee = to_micro(result.fee)
        # what moves between the worker and the proxy: a BUY's cost with the venue's taker fee (the worker
        # paid both), a SELL's proceeds less it (the worker got that much); the worker's float is whole again
        owed = notional + venue_fee if request.side is Side.BUY else max(notional - venue_fee, 0)
        async with unit_of_work(self._sessions) as session:
            repo = SettlementRepository(session)
            fee = self._fees.on_notional(notional)  # the commission: on the gross notional
            basis = None
            if request.side is Side.SELL:  # profit: net proceeds over the cost paid (venue fees in both)
                basis = (await repo.position(request.user_id, request.token_id)).cost_of(shares)
                fee += self._fees.on_profit(owed, basis)
            queued = await repo.enqueue(
                NewSettlement(
                    request.copy_trade_id,
                    request.user_id,
                    proxy,
                    worker.wallet_id,
                    request.side,
                    request.token_id,
                    shares,
                    owed,
                    fee,
                    basis,
                    to_micro(result.avg_price),
                    venue_fee_micro=venue_fee,
                ),
                datetime.now(UTC),
            )
            unsettled = await repo.unsettled_buy_cost(request.user_id)
        if not queued:
            log.warning("proxy.settlement_not_queued", copy_trade=request.copy_trade_id)
        elif self._on_queued is not None and (unsettled >= self._cap_micro or request.side is Side.SELL):
            # the ledger's cap reached, or a worker holds the proxy's proceeds: settle now, not at the interval
            self._on_queued()

    async def _charge_direct(self, request: OrderRequest, result: ExecutionResult) -> ExecutionResult:
        """DIRECT: the exchange settled the fill from the proxy; the platform's commission (the same
        schedule as PROXY's) is queued for the settlement loop, which pays it from the proxy to the
        treasury in batches through the executor. The copy's fees are the venue's plus the commission."""
        if result.status not in (ExecStatus.FILLED, ExecStatus.PARTIAL):
            return result
        sender = next(
            (m for m in sorted(self._fleet.values(), key=lambda m: m.wallet_id) if not m.paused), None
        )
        if sender is None:  # nobody could send it: nothing is charged (the doctor checks the fleet)
            log.warning("proxy.direct_commission_no_worker", copy_trade=request.copy_trade_id)
            return result
        shares, notional = to_micro(result.filled_shares), to_micro(result.notional)
        venue_fee = to_micro(result.fee)
        paid = notional + venue_fee if request.side is Side.BUY else max(notional - venue_fee, 0)
        async with unit_of_work(self._sessions) as session:
            repo = SettlementRepository(session)
            commission = self._fees.on_notional(notional)
            basis = None
            if request.side is Side.SELL:
                basis = (await repo.position(request.user_id, request.token_id)).cost_of(shares)
                commission += self._fees.on_profit(paid, basis)
            await repo.enqueue_commission(
                NewSettlement(
                    request.copy_trade_id,
                    request.user_id,
                    self.proxy(request.user_id),
                    sender.wallet_id,
                    request.side,
                    request.token_id,
                    shares,
                    paid,  # what the proxy paid or got at the exchange: the position's average cost
                    commission,
                    basis,
                    to_micro(result.avg_price),
                    venue_fee_micro=venue_fee,
                    commission_only=True,
                ),
                datetime.now(UTC),
            )
        return replace(result, fee=result.fee + Decimal(commission) / MICRO)

    # --- redemption (the market lifecycle's Redeemer) -----------------------------------------------------

    async def held(self, user_id: int, tokens: tuple[str, ...]) -> dict[str, Decimal]:
        """The proxy's shares of each token on chain; raises while a copy in them is not settled."""
        async with unit_of_work(self._sessions) as session:
            pending = await SettlementRepository(session).unsettled_in(user_id, tokens)
        if pending:
            raise SettlementPendingError(f"{pending} copies in this market are not settled yet")
        return {t: (await self.shares(user_id, t)).balance for t in tokens}

    async def redeem(
        self, user_id: int, condition_id: str, tokens: tuple[str, ...], winning_token: str
    ) -> Decimal:
        """The proxy redeems every outcome of the market (index set ``1 << i`` for the i-th token) through the
        executor; returns the payout the contract reports (it stays in the proxy)."""
        worker = next((m for m in self._fleet.values() if not m.paused), None)
        if worker is None:
            raise SettlementPendingError("no unpaused fleet worker to send the redemption")
        data = cc.executor_redeem(
            self.proxy(user_id),
            bytes.fromhex(condition_id.removeprefix("0x")),
            [1 << i for i in range(len(tokens))],
        )
        tracked = await self._chain.monitor.send(worker.sender, self._chain.executor, data, 400_000)
        receipt = await self._chain.monitor.confirmed(tracked)
        payout = sum(
            int(str(entry["data"]), 16)
            for entry in receipt.get("logs", [])
            if str(entry["topics"][0]) == REDEEMED_TOPIC
            and str(entry["address"]).lower() == self._chain.executor
        )
        return Decimal(payout) / MICRO

    async def reconcile(self, request: OrderRequest) -> ExecutionResult | None:
        """After a crash: the worker that placed this copy's order, if the venue knows it."""
        if self._direct is not None and self._direct.serves(request.user_id):
            found = await self._direct.reconcile(request)
            return None if found is None else await self._charge_direct(request, found)
        for wallet_id, worker in self._fleet.items():
            result = await self._clob.reconcile(replace(request, user_id=wallet_id))
            if result is None:
                continue
            if result.status in (ExecStatus.FILLED, ExecStatus.PARTIAL):
                await self._queue(request, self.proxy(request.user_id), worker, result)
                return replace(result, settles_later=True)
            return result
        return None
