"""The local Polymarket exchange (matching engine): markets, books, accounts; submit / cancel / expire / resolve.

Pure, synchronous and deterministic: no I/O, no threads, no ``time.time()``. Time comes from the
injected ``clock`` (unix ms); trade ids and transaction hashes come from ``seed`` and counters, so the
same calls on the same seed give the same results byte for byte.

How the server layer uses it (one ``SimExchange`` per simulated venue, called from one task/lock):

* Set-up: ``engine.add_market(make_market(seed, i, ...))``; fund wallets with
  ``engine.deposit(address, micro_pusd)`` (approves the exchange unless ``approve=False``; use
  ``engine.ledger.approve/set_ctf_approval`` to model missing allowances) and give them shares with
  ``engine.split(address, condition_id, micro)``.
* ``POST /order``: verify signature/auth, turn the signed amounts into an ``OrderRequest``
  (``order_terms_from_amounts`` in ``amounts.py`` gives price and size), call ``engine.submit(req)``.
  The ``SubmitResult`` maps 1:1 onto the response: ``success``, ``error`` (exact live string, HTTP
  400), ``order_id``, ``status`` ("matched"/"live"/"delayed"), ``making_amount``/``taking_amount``
  (human decimals like "2.65"), ``trade_ids``, ``transaction_hashes``. On a market with
  ``match_delay_ms`` a marketable order answers "delayed" and is matched by ``run_due`` later.
* ``DELETE /order(s)``, ``/cancel-all``, ``/cancel-market-orders``: ``cancel_orders(ids, owner)``,
  ``cancel_all(owner)``, ``cancel_market(owner, market, asset_id)`` -> ``CancelResult`` with
  ``canceled`` and ``not_canceled`` {id: reason}.
* Every call returns its events in order (``result.events`` or a list): fan them out.
  ``OrderEvent`` -> user-channel ``order`` (PLACEMENT/UPDATE/CANCELLATION, status inside the view);
  ``TradeEvent`` -> user-channel ``trade`` for the taker and each maker, market-channel
  ``last_trade_price`` (``last_price``, ``side``, ``transaction_hash``), the chain's ``OrderFilled``
  logs (``order_filled_legs(exchange)``), and a fresh ``book`` message per token (``engine.book``);
  ``BookChange`` -> ``price_change`` entries (new total size per level, best bid/ask after);
  ``MarketResolved`` -> ``market_resolved``; ``TickSizeChanged`` -> ``tick_size_change``.
* Call ``engine.run_due()`` on a timer (every submit/cancel/resolve also runs it first): it expires
  GTD orders whose time has passed and matches delayed orders whose delay is over, and returns
  their events.
* Queries: ``book(token)`` (levels worst-first like live), ``best_bid_ask``, ``last_trade``,
  ``order(id)``, ``open_orders(...)``, ``trades()``, ``account(address)`` (balances, reservations,
  allowance, positions with average cost and realized PnL).
* ``resolve(condition_id, winning_token)`` cancels the market's orders and redeems winners.

Units: sizes and pUSD are integer micro-units; prices are ``Decimal`` at the API and integer
micro-dollars inside. See ``units.py`` for lots and rounding and ``book.py`` for the one-book-per-
market design that implements CTF complement matching (NORMAL / MINT / MERGE). Markets, funds and
the queries are ``exchange_markets.py`` (``ExchangeMarkets``, a base of ``SimExchange``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim import errors
from polyhunter.sim.accounts import Ledger
from polyhunter.sim.book import MarketBook
from polyhunter.sim.events import (
    CancelResult,
    Event,
    MarketResolved,
    OrderEvent,
    OrderEventKind,
    SubmitResult,
    TradeEvent,
)
from polyhunter.sim.exchange_markets import ExchangeMarkets
from polyhunter.sim.ids import IdSource
from polyhunter.sim.markets import Market
from polyhunter.sim.matching import Sweep, crosses, fee_bound, sweep, taker_fee
from polyhunter.sim.orders import Order, OrderRequest, OrderStatus, OrderType
from polyhunter.sim.snapshots import book_changes
from polyhunter.sim.units import MICRO, cost, lot_floor, micro_to_decimal, price_to_micro
from polyhunter.sim.validation import static_error

Clock = Callable[[], int]
"""Returns the current time in unix milliseconds."""

FEE_ACCOUNT = "0x000000000000000000000000000000000000fee5"


class SimExchange(ExchangeMarkets):
    def __init__(self, clock: Clock, *, seed: str = "polyhunter-sim", fee_account: str = FEE_ACCOUNT) -> None:
        self._clock = clock
        self.ids = IdSource(seed)
        self.ledger = Ledger(fee_account)
        self._markets: dict[str, Market] = {}
        self._books: dict[str, MarketBook] = {}
        self._token_market: dict[str, str] = {}
        self._orders: dict[str, Order] = {}
        self._expiry: list[tuple[int, int, str]] = []  # (expires at ms, seq, order id) of GTD orders
        self._delayed: list[tuple[int, int, str]] = []  # (due ms, seq, order id) of DELAYED orders
        self._open: dict[str, Order] = {}  # LIVE and DELAYED orders, in submission order
        self._last_trade: dict[str, tuple[Decimal, Side]] = {}
        self._trades: list[TradeEvent] = []
        self._seq = 0

    # -- orders ---------------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> SubmitResult:
        events: list[Event] = self.run_due()
        now = self._clock()
        market = self.market_of_token(req.token_id)
        if market is None:
            return SubmitResult(req.order_id, False, errors.INVALID_PAYLOAD, events=tuple(events))
        error = static_error(req, market, now, req.order_id in self._orders)
        order = None if error else self._new_order(req, market, now)
        delayed = order is not None and market.match_delay_ms > 0 and self._marketable(order)
        if order is not None:
            error = self._admit(order, market, check_book=not delayed)
        if error or order is None:
            return SubmitResult(req.order_id, False, error or errors.INVALID_PAYLOAD, events=tuple(events))
        self._orders[order.order_id] = order
        if delayed:
            return self._hold(order, market, now, events)
        return self._execute(order, market, now, events)

    def _new_order(self, req: OrderRequest, market: Market, now: int) -> Order:
        self._seq += 1
        price = price_to_micro(req.price)
        primary = req.token_id == market.tokens[0]
        return Order(
            order_id=req.order_id,
            owner=req.owner,
            api_owner=req.api_owner,
            market=market.condition_id,
            token_id=req.token_id,
            outcome=market.outcome_of(req.token_id),
            side=req.side,
            price=price,
            price_decimal=req.price,
            original_size=req.size,
            open_size=lot_floor(req.size),
            order_type=req.order_type,
            expiration=req.expiration,
            post_only=req.post_only,
            created_ms=now,
            seq=self._seq,
            is_primary=primary,
            book_bid=(req.side is Side.BUY) == primary,
            book_price=price if primary else MICRO - price,
        )

    def _crossing(self, order: Order) -> bool:
        return crosses(self._books[order.market].side(not order.book_bid), order.book_price)

    def _marketable(self, order: Order) -> bool:
        return not order.order_type.can_rest or self._crossing(order)

    def _admit(self, order: Order, market: Market, *, check_book: bool) -> str | None:
        """Book- and balance-dependent checks; on success the order's funds are reserved."""
        if order.post_only and self._crossing(order):
            return errors.POST_ONLY_CROSSES
        notional = cost(order.open_size, order.price)
        if order.side is Side.BUY and notional < MICRO and self._marketable(order):
            return errors.marketable_buy_too_small(micro_to_decimal(notional))
        if order.side is Side.BUY:
            need = notional + fee_bound(order.open_size, order.price, market.taker_fee_rate)
            ok = self.ledger.reserve_cash(order.owner, need)
        else:
            need = order.open_size
            ok = self.ledger.reserve_tokens(order.owner, order.token_id, need)
        if not ok:
            return errors.NOT_ENOUGH_BALANCE
        order.reserved = need
        error = self._book_check(order) if check_book else None
        if error:
            self._release(order)
        return error

    def _book_check(self, order: Order) -> str | None:
        """FOK needs its whole size fillable now; FAK needs something to match."""
        if order.order_type is OrderType.FOK:
            opposite = self._books[order.market].side(not order.book_bid)
            if opposite.fillable(order.book_price, order.open_size) < order.open_size:
                return errors.FOK_NOT_FILLED
        elif order.order_type is OrderType.FAK and not self._crossing(order):
            return errors.FAK_NO_MATCH
        return None

    def _hold(self, order: Order, market: Market, now: int, events: list[Event]) -> SubmitResult:
        order.status = OrderStatus.DELAYED
        self._open[order.order_id] = order
        heapq.heappush(self._delayed, (now + market.match_delay_ms, order.seq, order.order_id))
        if order.order_type is OrderType.GTD:
            heapq.heappush(self._expiry, (order.expiration * 1000, order.seq, order.order_id))
        events.append(OrderEvent(OrderEventKind.PLACEMENT, order.view(), now))
        return SubmitResult(order.order_id, True, status="delayed", events=tuple(events))

    def _execute(self, order: Order, market: Market, now: int, events: list[Event]) -> SubmitResult:
        book = self._books[market.condition_id]
        was_delayed = order.status is OrderStatus.DELAYED
        swept = sweep(market, book, self.ledger, order)
        trade = self._record_trade(order, market, swept, now) if swept.fills else None
        if order.remaining > 0 and order.order_type.can_rest:
            order.status = OrderStatus.LIVE
            self._rest(order, book, expiry_queued=was_delayed)
        else:
            order.status = OrderStatus.MATCHED
            self._open.pop(order.order_id, None)
            self._release(order)
        kind = OrderEventKind.UPDATE if was_delayed else OrderEventKind.PLACEMENT
        events.append(OrderEvent(kind, order.view(), now))
        if trade is not None:
            events.append(trade)
            events.extend(OrderEvent(OrderEventKind.UPDATE, m.view(), now) for m in swept.makers)
        events.extend(book_changes(market, book, now))
        return SubmitResult(
            order_id=order.order_id,
            success=True,
            status="matched" if trade is not None else "live",
            making=swept.taker_usdc if order.side is Side.BUY else order.matched,
            taking=order.matched if order.side is Side.BUY else swept.taker_usdc,
            trade_ids=() if trade is None else (trade.trade_id,),
            transaction_hashes=() if trade is None else (trade.transaction_hash,),
            events=tuple(events),
        )

    def _rest(self, order: Order, book: MarketBook, *, expiry_queued: bool) -> None:
        if order.side is Side.BUY:  # keep only the resting part's cost reserved (drop the fee bound)
            excess = order.reserved - cost(order.remaining, order.price)
            self.ledger.release_cash(order.owner, excess)
            order.reserved -= excess
        book.side(order.book_bid).add(order)
        book.touch(order.book_bid, order.book_price)
        self._open[order.order_id] = order
        if order.order_type is OrderType.GTD and not expiry_queued:
            heapq.heappush(self._expiry, (order.expiration * 1000, order.seq, order.order_id))

    def _release(self, order: Order) -> None:
        if order.side is Side.BUY:
            self.ledger.release_cash(order.owner, order.reserved)
        else:
            self.ledger.release_tokens(order.owner, order.token_id, order.reserved)
        order.reserved = 0

    def _record_trade(self, order: Order, market: Market, swept: Sweep, now: int) -> TradeEvent:
        fee = taker_fee(market, swept)
        if order.side is Side.BUY:
            bound = fee_bound(order.open_size, order.price, market.taker_fee_rate)
            order.reserved -= bound
            self.ledger.charge_fee(order.owner, order.token_id, fee, release=bound)
        else:
            self.ledger.charge_fee(order.owner, order.token_id, fee)
        trade = TradeEvent(
            trade_id=self.ids.trade_id(),
            market=market.condition_id,
            token_id=order.token_id,
            outcome=order.outcome,
            taker_order_id=order.order_id,
            taker_owner=order.owner,
            taker_api_owner=order.api_owner,
            side=order.side,
            price=order.price_decimal,
            size=order.matched,
            usdc=swept.taker_usdc,
            fee=fee,
            fee_rate=market.taker_fee_rate,
            makers=tuple(swept.fills),
            transaction_hash=self.ids.tx_hash(),
            timestamp_ms=now,
        )
        order.trade_ids.append(trade.trade_id)
        for maker in swept.makers:
            maker.trade_ids.append(trade.trade_id)
            if maker.remaining == 0:
                maker.status = OrderStatus.MATCHED
                del self._open[maker.order_id]
                self._release(maker)
        last = trade.last_price
        self._last_trade[order.token_id] = (last, order.side)
        other_side = Side.SELL if order.side is Side.BUY else Side.BUY
        self._last_trade[market.other(order.token_id)] = (1 - last, other_side)
        self._trades.append(trade)
        return trade

    # -- cancellation, timers, resolution --------------------------------------------------------
    def cancel(self, order_id: str, owner: str | None = None) -> CancelResult:
        return self.cancel_orders([order_id], owner)

    def cancel_orders(self, order_ids: Iterable[str], owner: str | None = None) -> CancelResult:
        """Cancel by id; with ``owner`` set, orders of other owners count as not found."""
        events: list[Event] = self.run_due()
        now = self._clock()
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        touched: set[str] = set()
        for order_id in order_ids:
            order = self._orders.get(order_id)
            if order is None or (owner is not None and order.owner.lower() != owner.lower()):
                not_canceled[order_id] = errors.ORDER_NOT_FOUND
            elif not order.status.is_open:
                not_canceled[order_id] = errors.ALREADY_DONE
            else:
                events.append(self._cancel_order(order, OrderStatus.CANCELED, now))
                canceled.append(order_id)
                touched.add(order.market)
        for cid in sorted(touched):
            events.extend(book_changes(self._markets[cid], self._books[cid], now))
        return CancelResult(tuple(canceled), not_canceled, tuple(events))

    def cancel_all(self, owner: str) -> CancelResult:
        return self.cancel_orders([o.order_id for o in self.open_orders(owner=owner)], owner)

    def cancel_market(
        self, owner: str, market: str | None = None, asset_id: str | None = None
    ) -> CancelResult:
        ids = [o.order_id for o in self.open_orders(owner=owner, market=market, asset_id=asset_id)]
        return self.cancel_orders(ids, owner)

    def _cancel_order(self, order: Order, status: OrderStatus, now: int) -> OrderEvent:
        if order.status is OrderStatus.LIVE:
            book = self._books[order.market]
            book.side(order.book_bid).remove(order)
            book.touch(order.book_bid, order.book_price)
        self._release(order)
        order.status = status
        del self._open[order.order_id]
        return OrderEvent(OrderEventKind.CANCELLATION, order.view(), now)

    def run_due(self) -> list[Event]:
        """Expire GTD orders whose time has passed and match delayed orders whose delay is over,
        in time order, at the injected clock's time. Returns their events."""
        now = self._clock()
        events: list[Event] = []
        touched: set[str] = set()
        while True:
            exp = self._expiry[0] if self._expiry and self._expiry[0][0] <= now else None
            due = self._delayed[0] if self._delayed and self._delayed[0][0] <= now else None
            if exp is None and due is None:
                break
            if due is not None and (exp is None or due < exp):
                heapq.heappop(self._delayed)
                delayed = self._orders[due[2]]
                if delayed.status is OrderStatus.DELAYED:
                    self._run_delayed(delayed, due[0], events)
            elif exp is not None:
                heapq.heappop(self._expiry)
                expired = self._orders[exp[2]]
                if expired.status.is_open:
                    events.append(self._cancel_order(expired, OrderStatus.CANCELED_EXPIRED_ORDER, now))
                    touched.add(expired.market)
        for cid in sorted(touched):
            events.extend(book_changes(self._markets[cid], self._books[cid], now))
        return events

    def expire(self) -> list[Event]:
        """Same as ``run_due`` (kept for callers that only think of GTD expiry)."""
        return self.run_due()

    def _run_delayed(self, order: Order, at_ms: int, events: list[Event]) -> None:
        market = self._markets[order.market]
        error = self._book_check(order)
        if error is None:
            self._execute(order, market, at_ms, events)
            return
        status = OrderStatus.CANCELED_FOK if order.order_type is OrderType.FOK else OrderStatus.CANCELED_FAK
        events.append(self._cancel_order(order, status, at_ms))

    def resolve(self, condition_id: str, winning_token: str, *, auto_redeem: bool = True) -> list[Event]:
        """Close the market, cancel its open orders and (`auto_redeem`) redeem 1 pUSD per winning share
        for every holder; without it each holder redeems for itself (`redeem`), as on chain."""
        market = self.market(condition_id)
        if winning_token not in market.tokens or market.winning_token is not None:
            raise errors.SimError(f"cannot resolve {condition_id} to {winning_token}")
        events: list[Event] = self.run_due()
        now = self._clock()
        book = self._books[condition_id]
        for order in [o for o in self._open.values() if o.market == condition_id]:
            events.append(self._cancel_order(order, OrderStatus.CANCELED_MARKET_RESOLVED, now))
        events.extend(book_changes(market, book, now))
        payouts = self.ledger.redeem_all(condition_id, market.tokens, winning_token) if auto_redeem else []
        self._markets[condition_id] = market.with_changes(
            active=False, closed=True, winning_token=winning_token
        )
        events.append(
            MarketResolved(
                market=condition_id,
                winning_token=winning_token,
                winning_outcome=market.outcome_of(winning_token),
                tokens=market.tokens,
                payouts=tuple(payouts),
                timestamp_ms=now,
            )
        )
        return events

    def redeem(self, address: str, condition_id: str) -> int:
        """`address` redeems its shares of a resolved market; returns the pUSD paid (micro)."""
        market = self.market(condition_id)
        if market.winning_token is None:
            raise errors.SimError(f"market {condition_id} is not resolved")
        return self.ledger.redeem_one(address, condition_id, market.tokens, market.winning_token)
