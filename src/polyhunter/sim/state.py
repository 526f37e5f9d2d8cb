"""The simulator's shared state: the matching engine plus everything the servers publish around it.

``SimState`` owns the engine (wall clock), the market catalog, API keys (state_keys.py), the log of
received signed orders, the CLOB trade records (status MATCHED → MINED → CONFIRMED on a timer), the
Data API fill rows, and the three websocket channels. Every engine call goes through here so that
each event the engine returns is fanned out exactly once (state_fanout.py): order/trade events to the
user channel, book changes and last trade prices to the market channel, every fill to RTDS, fills to
the Data API log and, when a chain mirror is configured, each settled trade to the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyhunter.sim.events import (
    BookSnapshot,
    CancelResult,
    Event,
    MarketResolved,
    SubmitResult,
)
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.faults import Faults
from polyhunter.sim.orders import OrderRequest
from polyhunter.sim.price_history import PriceHistory
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_rtds import RtdsChannel
from polyhunter.sim.server_wire import TradeState
from polyhunter.sim.server_ws_common import WsRegistry
from polyhunter.sim.server_ws_market import MarketChannel
from polyhunter.sim.server_ws_user import UserChannel
from polyhunter.sim.settlement import Settlement
from polyhunter.sim.state_fanout import MatchHook, SimFanOut
from polyhunter.sim.state_keys import SimApiKeys
from polyhunter.sim.state_positions import Holding
from polyhunter.sim.state_records import ApiKey, FillRow, ReceivedOrder, UserProfile
from polyhunter.sim.timing import FAST, SimTiming
from polyhunter.sim.units import micro_to_decimal

if TYPE_CHECKING:
    from polyhunter.sim.chain_tokens import ChainTokens
    from polyhunter.sim.chain_venue import ChainVenue

__all__ = ["MatchHook", "SimState"]


def _micro(value: int) -> Decimal:
    return micro_to_decimal(value)


class SimState(SimApiKeys, SimFanOut):
    def __init__(
        self,
        *,
        seed: int,
        catalog: list[MarketInfo],
        faults: Faults,
        mined_delay_s: float = 0.2,
        confirmed_delay_s: float = 0.6,
        clock: Callable[[], int] | None = None,
        timing: SimTiming | None = None,
    ) -> None:
        """``timing``: the profile (``sim/timing.py``); without one, ``fast`` with these two delays."""
        self.seed = seed
        self.faults = faults
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.engine = SimExchange(self._clock, seed=f"polyhunter-sim-{seed}")
        self.started_ms = self._clock()  # the markets accept orders from here on
        self._catalog: list[MarketInfo] = list(catalog)
        self._by_condition = {i.condition_id: i for i in catalog}
        self._by_token = {t: i for i in catalog for t in i.market.tokens}
        for info in catalog:
            self.engine.add_market(info.market)
        self.registry = WsRegistry()
        self.market_ws = MarketChannel(self.book_snapshot, faults, self.registry)
        self.user_ws = UserChannel(self.api_key, faults, self.registry)
        self.rtds = RtdsChannel(faults, self.registry, seed)
        self.timing = timing or replace(
            FAST, mined_delay_s=mined_delay_s, confirmed_delay_s=confirmed_delay_s
        )
        self.settlement = Settlement(self, self.timing, seed)
        self.mirror_hook: MatchHook | None = None
        self.chain_tokens: ChainTokens | None = None  # chain mode: USDC.e, pUSD, onramp, CTF
        self.chain_venue: ChainVenue | None = None  # chain mode: deposits, matches, resolutions on chain
        self.received: list[ReceivedOrder] = []
        self.received_seq = 0  # sequence of the next received order (the list may be pruned)
        self._fill_seq = 0
        self._keys: dict[str, ApiKey] = {}
        self._keys_by_owner: dict[tuple[str, int], str] = {}
        self._funders: dict[str, str] = {}
        self._heartbeats: dict[str, tuple[str, int]] = {}
        self.heartbeat_timeout_s = 10.0
        self._fills: list[FillRow] = []
        self.price_history = PriceHistory()  # GET /prices-history
        self._fills_by_wallet: dict[str, list[FillRow]] = {}
        self._trades: dict[str, TradeState] = {}
        self._trades_by_key: dict[str, list[TradeState]] = {}
        self._profiles: dict[str, UserProfile] = {}
        self._resolved: set[str] = set()
        self.redemptions = 0  # redeem calls served (POST /sim/redeem)
        self._stale: dict[str, BookSnapshot] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hashing: dict[str, asyncio.Task[str]] = {}  # trade id → its chain mirror send

    # -- time, lookups ---------------------------------------------------------------------------
    def now_ms(self) -> int:
        return self._clock()

    def now_s(self) -> int:
        return self._clock() // 1000

    def info_by_condition(self, condition_id: str) -> MarketInfo | None:
        return self._by_condition.get(condition_id.lower())

    def info_by_token(self, token_id: str) -> MarketInfo | None:
        return self._by_token.get(token_id)

    @property
    def catalog(self) -> list[MarketInfo]:
        """Every market, with the engine's current state (tick size, status, winner)."""
        return [self.market_info(i) for i in self._catalog]

    def market_info(self, info: MarketInfo) -> MarketInfo:
        """``info`` with the engine's current market (tick size, status, winner)."""
        current = self.engine.market(info.condition_id)
        return info if current is info.market else replace(info, market=current)

    @property
    def fills(self) -> Sequence[FillRow]:
        return self._fills

    def fills_of(self, wallet: str) -> Sequence[FillRow]:
        """One wallet's rows (lower-case address), oldest first."""
        return self._fills_by_wallet.get(wallet.lower(), [])

    def profile(self, wallet: str) -> UserProfile:
        return self._profiles.get(wallet.lower(), UserProfile())

    def set_profile(self, wallet: str, profile: UserProfile) -> None:
        self._profiles[wallet.lower()] = profile

    def is_resolved(self, condition_id: str) -> bool:
        return condition_id in self._resolved

    def book_snapshot(self, token_id: str) -> BookSnapshot | None:
        if self.info_by_token(token_id) is None:
            return None
        if self.faults.stale_books:
            if not self._stale:
                self.freeze_books()
            return self._stale[token_id]
        self._stale.clear()
        return self.engine.book(token_id)

    def freeze_books(self) -> None:
        """Snapshot every book now: what REST and websocket serve while ``stale_books`` is set."""
        self._stale = {t: self.engine.book(t) for t in self._by_token}

    def on_faults_changed(self) -> None:
        if self.faults.stale_books and not self._stale:
            self.freeze_books()
        elif not self.faults.stale_books:
            self._stale.clear()
        delay = self.faults.delayed_s  # the fault's match delay, else each market's own
        for info in self._catalog:
            ms = info.market.match_delay_ms if delay is None else round(delay * 1000)
            self.engine.set_match_delay(info.condition_id, ms)

    def heartbeat(self, api_key: str) -> str:
        """Record a heartbeat of ``api_key``; the first one starts its dead-man switch."""
        known = self._heartbeats.get(api_key)
        beat_id = (
            known[0]
            if known
            else str(uuid.UUID(bytes=hashlib.sha256(f"hb|{api_key}".encode()).digest()[:16]))
        )
        self._heartbeats[api_key] = (beat_id, self.now_ms())
        return beat_id

    def check_heartbeats(self) -> list[str]:
        """Cancel every open order of a key whose heartbeats stopped for ``heartbeat_timeout_s``."""
        deadline = self.now_ms() - int(self.heartbeat_timeout_s * 1000)
        expired = [key for key, (_, last) in self._heartbeats.items() if last < deadline]
        for key in expired:
            del self._heartbeats[key]
            ids = [o.order_id for o in self.engine.open_orders() if o.api_owner == key]
            if ids:
                self.cancel_orders(ids, None)
        return expired

    def expire(self) -> None:
        """Cancel GTD orders whose expiration passed (the engine checks on each call; this runs on a timer)."""
        self.dispatch(self.engine.expire())

    def current_price(self, token_id: str) -> Decimal:
        """Midpoint when both sides exist, else the last trade, else 0.5 (what Gamma/positions show)."""
        market = self.engine.market_of_token(token_id)
        if market is not None and market.winning_token is not None:
            return Decimal(1) if market.winning_token == token_id else Decimal(0)
        bid, ask = self.engine.best_bid_ask(token_id)
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        last = self.engine.last_trade(token_id)
        return last[0] if last is not None else Decimal("0.5")

    def holdings(self, wallet: str) -> list[Holding]:
        acct = self.engine.account(wallet)
        out = []
        for token, pos in acct.positions.items():
            info = self.info_by_token(token)
            if info is None:
                continue
            out.append(
                Holding(
                    wallet=wallet.lower(),
                    asset=token,
                    condition_id=info.condition_id,
                    size=_micro(pos.size),
                    avg_price=pos.avg_price,
                    total_bought=_micro(pos.bought),
                    realized_pnl=_micro(pos.realized),
                    bought_cost=_micro(pos.cost),
                )
            )
        return out

    # -- engine calls -----------------------------------------------------------------------------
    def submit(self, req: OrderRequest) -> SubmitResult:
        result = self.engine.submit(req)
        self.dispatch(result.events)
        return result

    def cancel_orders(self, order_ids: list[str], owner: str | None) -> CancelResult:
        return self._cancelled(self.engine.cancel_orders(order_ids, owner))

    def cancel_all(self, owner: str) -> CancelResult:
        return self._cancelled(self.engine.cancel_all(owner))

    def cancel_market(self, owner: str, market: str | None, asset_id: str | None) -> CancelResult:
        return self._cancelled(self.engine.cancel_market(owner, market, asset_id))

    def _cancelled(self, result: CancelResult) -> CancelResult:
        self.dispatch(result.events)
        return result

    def resolve(self, condition_id: str, winning_token: str, *, auto_redeem: bool = True) -> list[Event]:
        market = self.engine.market(condition_id)
        on_chain = self.chain_venue is not None and auto_redeem  # who the chain redeems for
        accounts = self.engine.ledger.accounts() if on_chain else iter(())
        holders = [a.address for a in accounts if any(a.tokens.get(t, 0) for t in market.tokens)]
        events = self.engine.resolve(condition_id, winning_token, auto_redeem=auto_redeem)
        if self.chain_venue is not None:  # the oracle reports; the holders redeem when auto_redeem
            payouts = [p for e in events if isinstance(e, MarketResolved) for p in e.payouts]
            self.chain_venue.resolve(condition_id, market.index_of(winning_token), payouts, holders)
        self.dispatch(events)
        return events

    def set_tick_size(self, condition_id: str, tick_size: Decimal) -> None:
        self.dispatch(self.engine.set_tick_size(condition_id, tick_size))

    def redeem(self, address: str, condition_id: str) -> int:
        self.redemptions += 1
        paid = self.engine.redeem(address, condition_id)
        if self.chain_venue is not None:
            self.chain_venue.redeem_for(address, condition_id, paid)
        return paid

    def fund_collateral(self, address: str, amount: int, *, approve: bool = True) -> None:
        """Deposit ``amount`` pUSD; ``approve``: and approve the exchanges, as a set-up wallet has."""
        self.engine.deposit(address, amount, approve=approve)
        if self.chain_venue is not None:  # minted on chain (and the wallet's approvals made)
            self.chain_venue.deposit(address, amount, approve=approve)

    async def chain_caught_up(self, rounds: int = 20) -> None:
        """Chain mode: wait until every deposit, match and resolution so far is on chain (again while the
        scenario queued more in the meantime, up to ``rounds`` times)."""
        venue = self.chain_venue
        if venue is None:
            return
        for _ in range(rounds):
            await venue.barrier()
            if venue.idle:
                return

    def fund_shares(self, address: str, token_id: str, shares: int) -> None:
        """Give ``address`` ``shares`` of ``token_id`` the way the chain would: deposit and split
        full sets (so the wallet also receives the same number of the other outcome)."""
        info = self.info_by_token(token_id)
        if info is None:
            raise KeyError(token_id)
        self.engine.deposit(address, shares)
        self.engine.split(address, info.condition_id, shares)
        if self.chain_venue is not None:
            self.chain_venue.give_shares(address, token_id, shares)

    # -- trades -----------------------------------------------------------------------------------
    def trade(self, trade_id: str) -> TradeState | None:
        return self._trades.get(trade_id)

    def trades_for_key(self, api_key: str) -> list[TradeState]:
        """Trades the key took part in (as taker or maker), oldest first."""
        return list(self._trades_by_key.get(api_key, ()))

    async def settle(self, timeout_s: float = 10.0) -> None:
        """Wait until every trade so far is CONFIRMED (tests and scenario shutdown)."""
        pending = list(self._tasks)
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def prune_history(self, cutoff_ms: int) -> int:
        """Forget received orders, fills, trades and finished orders older than ``cutoff_ms``: a simulator
        that runs for hours keeps a window of history instead of all of it. Returns the records dropped."""
        dropped = 0

        def cut(rows: list[Any], stamp: Callable[[Any], int]) -> int:
            keep = next((i for i, r in enumerate(rows) if stamp(r) >= cutoff_ms), len(rows))
            del rows[:keep]
            return keep

        dropped += cut(self.received, lambda r: r.received_at_ms)
        dropped += cut(self._fills, lambda r: r.timestamp_ms)
        for wallet in list(self._fills_by_wallet):
            cut(self._fills_by_wallet[wallet], lambda r: r.timestamp_ms)
            if not self._fills_by_wallet[wallet]:
                del self._fills_by_wallet[wallet]
        old = [
            trade_id
            for trade_id, ts in self._trades.items()
            if ts.trade.timestamp_ms < cutoff_ms and ts.status == "CONFIRMED"
        ]
        for trade_id in old:
            del self._trades[trade_id]
        gone = set(old)
        for key in list(self._trades_by_key):
            kept = [ts for ts in self._trades_by_key[key] if ts.trade.trade_id not in gone]
            if kept:
                self._trades_by_key[key] = kept
            else:
                del self._trades_by_key[key]
        dropped += self.price_history.prune(cutoff_ms)
        return dropped + len(old) + self.engine.forget_before(cutoff_ms)

    def orders_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.received]
