"""The exchange's markets (catalog, status, fee rate, match delay, tick), wallets' funds (deposit,
split, merge) and its read-side queries (orders, trades, books, last trades).

`ExchangeMarkets` is a base of `SimExchange` (exchange.py: submitting, matching, cancelling,
resolving), which sets the attributes declared below.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim import errors
from polyhunter.sim.accounts import Account, Ledger
from polyhunter.sim.book import MarketBook
from polyhunter.sim.events import BookSnapshot, Event, TickSizeChanged, TradeEvent
from polyhunter.sim.markets import TICK_SIZES, Market
from polyhunter.sim.orders import Order, OrderView
from polyhunter.sim.snapshots import best_prices, snapshot


class ExchangeMarkets:
    """Markets, funds and queries of the simulated exchange (see the module doc)."""

    _clock: Callable[[], int]
    ledger: Ledger
    _markets: dict[str, Market]
    _books: dict[str, MarketBook]
    _token_market: dict[str, str]
    _orders: dict[str, Order]
    _expiry: list[tuple[int, int, str]]
    _delayed: list[tuple[int, int, str]]
    _open: dict[str, Order]
    _last_trade: dict[str, tuple[Decimal, Side]]
    _trades: list[TradeEvent]

    # -- markets --------------------------------------------------------------------------------
    def add_market(self, market: Market) -> Market:
        if market.condition_id in self._markets:
            raise errors.SimError(f"market {market.condition_id} already exists")
        for token in market.tokens:
            if token in self._token_market:
                raise errors.SimError(f"token {token} already belongs to a market")
        self._markets[market.condition_id] = market
        self._books[market.condition_id] = MarketBook()
        for token in market.tokens:
            self._token_market[token] = market.condition_id
        return market

    def market(self, condition_id: str) -> Market:
        try:
            return self._markets[condition_id]
        except KeyError:
            raise errors.SimError(f"unknown market {condition_id}") from None

    def market_of_token(self, token_id: str) -> Market | None:
        cid = self._token_market.get(token_id)
        return None if cid is None else self._markets[cid]

    def markets(self) -> list[Market]:
        return list(self._markets.values())

    def set_market_status(self, condition_id: str, *, active: bool, closed: bool) -> Market:
        market = self.market(condition_id).with_changes(active=active, closed=closed)
        self._markets[condition_id] = market
        return market

    def set_fee_rate(self, condition_id: str, rate: Decimal) -> None:
        """The market's taker fee rate from now on (a later order pays the new rate)."""
        self._markets[condition_id] = self.market(condition_id).with_changes(taker_fee_rate=rate)

    def set_match_delay(self, condition_id: str, delay_ms: int) -> None:
        """Marketable orders on the market wait ``delay_ms`` (status ``delayed``) before matching."""
        self._markets[condition_id] = self.market(condition_id).with_changes(match_delay_ms=delay_ms)

    def set_tick_size(self, condition_id: str, tick_size: Decimal) -> list[Event]:
        """Change a market's tick (live does it near 0.04/0.96); one event per token."""
        if tick_size not in TICK_SIZES:
            raise errors.SimError(f"unsupported tick size {tick_size}")
        old = self.market(condition_id)
        self._markets[condition_id] = old.with_changes(tick_size=tick_size)
        now = self._clock()
        return [TickSizeChanged(condition_id, t, old.tick_size, tick_size, now) for t in old.tokens]

    # -- accounts -------------------------------------------------------------------------------
    def deposit(self, address: str, amount: int, *, approve: bool = True) -> None:
        """Fund ``address`` with ``amount`` micro-pUSD; by default also approve the exchange
        (unlimited pUSD allowance and CTF approval), as a set-up wallet would be."""
        self.ledger.deposit(address, amount)
        if approve:
            self.ledger.approve(address, None)
            self.ledger.set_ctf_approval(address, True)

    def split(self, address: str, condition_id: str, amount: int) -> None:
        """CTF split: ``amount`` pUSD of ``address`` into ``amount`` shares of each outcome."""
        self.ledger.split(address, condition_id, self.market(condition_id).tokens, amount)

    def merge(self, address: str, condition_id: str, amount: int) -> None:
        self.ledger.merge(address, condition_id, self.market(condition_id).tokens, amount)

    def account(self, address: str) -> Account:
        return self.ledger.account(address)

    # -- queries --------------------------------------------------------------------------------
    def order(self, order_id: str) -> OrderView | None:
        order = self._orders.get(order_id)
        return None if order is None else order.view()

    def open_orders(
        self, owner: str | None = None, market: str | None = None, asset_id: str | None = None
    ) -> list[OrderView]:
        """Open orders (LIVE in the book or DELAYED), in submission order, optionally filtered."""
        owner_key = owner.lower() if owner is not None else None
        return [
            o.view()
            for o in self._open.values()
            if (owner_key is None or o.owner.lower() == owner_key)
            and (market is None or o.market == market)
            and (asset_id is None or o.token_id == asset_id)
        ]

    def trades(self) -> list[TradeEvent]:
        return list(self._trades)

    def forget_before(self, cutoff_ms: int) -> int:
        """Drop finished orders created before ``cutoff_ms`` and trades before it (a bounded history for
        long runs); open, delayed and still-scheduled orders stay. Returns the orders dropped."""
        scheduled = {oid for _, _, oid in self._expiry} | {oid for _, _, oid in self._delayed}
        stale = []
        for order_id, order in self._orders.items():  # insertion order is creation order
            if order.created_ms >= cutoff_ms:
                break
            if order_id not in self._open and order_id not in scheduled:
                stale.append(order_id)
        for order_id in stale:
            del self._orders[order_id]
        keep = next((i for i, t in enumerate(self._trades) if t.timestamp_ms >= cutoff_ms), len(self._trades))
        del self._trades[:keep]
        return len(stale)

    def book(self, token_id: str) -> BookSnapshot:
        market = self._market_of(token_id)
        book = self._books[market.condition_id]
        return snapshot(market, book, token_id, self._clock(), self._last_trade.get(token_id))

    def best_bid_ask(self, token_id: str) -> tuple[Decimal | None, Decimal | None]:
        market = self._market_of(token_id)
        return best_prices(market, self._books[market.condition_id], token_id)

    def last_trade(self, token_id: str) -> tuple[Decimal, Side] | None:
        return self._last_trade.get(token_id)

    def _market_of(self, token_id: str) -> Market:
        market = self.market_of_token(token_id)
        if market is None:
            raise errors.SimError(f"unknown token {token_id}")
        return market
