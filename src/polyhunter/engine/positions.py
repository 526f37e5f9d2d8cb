"""Running positions the sizing needs: the leader's (for sell mirroring and PROPORTIONAL equity) and
each config's exposure per market.

Leader positions: our signals show the leader's fills from when we started, not what it held before,
and a restart forgets them. So the position before a leader SELL is taken as follows:

* *known* (seeded from the Data API earlier in this process, then moved by every signal since): that;
* otherwise the Data API's `/positions` size for the token **plus the shares this sell sold**. The
  Data API is read after the sell was observed, so it normally already shows the position after the
  sell; if it lags and still shows the position before, the estimate is too large and the follower
  sells a smaller fraction than the leader did (never a larger one, never everything by mistake).
  The (leader, token) is then known from that value on.
* if the Data API cannot be read, the position stays unknown and the engine skips those sell copies
  (LEADER_POSITION_UNAVAILABLE) rather than treating a partial sell as a full exit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal
from polyhunter.engine.ttl_cache import TtlCache


@dataclass(frozen=True, slots=True)
class LeaderHolding:
    shares: Decimal
    value: Decimal  # USDC at the venue's current price


LoadHoldings = Callable[[str], Awaitable[Mapping[str, LeaderHolding]]]


class LeaderPortfolio:
    """A leader's open positions by token as the Data API shows them (TTL cache with in-flight
    de-duplication: a signal fanning out to many configs costs one read)."""

    def __init__(
        self,
        load: LoadHoldings,
        *,
        ttl_ms: int = 5_000,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self.cache: TtlCache[str, Mapping[str, LeaderHolding]] = TtlCache(ttl_ms, max_entries, clock)

    async def holdings(self, leader: str) -> Mapping[str, LeaderHolding]:
        return await self.cache.get(leader, lambda: self._load(leader))

    async def equity(self, leader: str) -> Decimal:
        """The value of the leader's open positions (its cash is not observable: see `size_copy`)."""
        return sum((h.value for h in (await self.holdings(leader)).values()), Decimal(0))


class LeaderPositions:
    """Shares each leader holds per token, as far as we know (for sell mirroring)."""

    def __init__(self) -> None:
        self._shares: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self._known: set[tuple[str, str]] = set()

    def seed(self, leader: str, token: str, shares: Decimal) -> None:
        self._shares[(leader, token)] = shares
        self._known.add((leader, token))

    def known(self, leader: str, token: str) -> bool:
        return (leader, token) in self._known

    def position(self, leader: str, token: str) -> Decimal:
        return self._shares.get((leader, token), Decimal(0))

    def apply(self, signal: Signal) -> Decimal:
        """Record the fill; return the leader's position before it."""
        key = (signal.leader, signal.asset)
        before = self._shares[key]
        after = before + signal.size if signal.side is Side.BUY else max(Decimal(0), before - signal.size)
        self._shares[key] = after
        return before

    async def before_sell(self, signal: Signal, portfolio: LeaderPortfolio | None) -> Decimal | None:
        """The leader's position before this SELL (module docstring), or None if it cannot be had."""
        if self.known(signal.leader, signal.asset):
            return self.position(signal.leader, signal.asset)
        if portfolio is None:
            return None
        try:
            holdings = await portfolio.holdings(signal.leader)
        except Exception:  # noqa: BLE001 - an unreadable Data API leaves the position unknown
            return None
        held = holdings.get(signal.asset)
        before = (held.shares if held is not None else Decimal(0)) + signal.size
        self.seed(signal.leader, signal.asset, before)
        return before


class FollowerExposure:
    """What each copy config holds from its own fills: USDC put into each market (condition id), for
    the config's per-market position cap (`max_position_usdc` is per config and market), and shares of
    each token, for sell mirroring (a config sells a fraction of what IT bought, never shares another
    config of the same wallet bought from another leader). Started from the store at start-up
    (`exposure_seed.seed_exposure`), then moved by every fill."""

    def __init__(self) -> None:
        self._notional: dict[tuple[int, str], Decimal] = {}
        self._shares: dict[tuple[int, str], Decimal] = {}
        self._user: dict[int, int] = {}  # config id -> its follower, where known (for `drop_users`)

    def drop_users(self, users: Callable[[int], bool]) -> set[int]:
        """Forget what these followers' configs hold (a cluster worker released or took their partition:
        the store is read again, engine/handover.py); the config ids forgotten."""
        gone = {c for c, u in self._user.items() if users(u)}
        for table in (self._notional, self._shares):
            for key in [k for k in table if k[0] in gone]:
                del table[key]
        for config_id in gone:
            del self._user[config_id]
        return gone

    def get(self, config_id: int, condition_id: str) -> Decimal:
        return self._notional.get((config_id, condition_id.lower()), Decimal(0))

    def shares(self, config_id: int, token_id: str) -> Decimal:
        return self._shares.get((config_id, token_id), Decimal(0))

    def seed(self, config_id: int, condition_id: str, notional: Decimal, user_id: int | None = None) -> None:
        self._notional[(config_id, condition_id.lower())] = max(Decimal(0), notional)
        if user_id is not None:
            self._user[config_id] = user_id

    def seed_shares(self, config_id: int, token_id: str, shares: Decimal, user_id: int | None = None) -> None:
        self._shares[(config_id, token_id)] = max(Decimal(0), shares)
        if user_id is not None:
            self._user[config_id] = user_id

    def add(
        self,
        config_id: int,
        condition_id: str,
        side: Side,
        notional: Decimal,
        token_id: str = "",
        shares: Decimal = Decimal(0),
        *,
        user_id: int | None = None,
    ) -> None:
        if user_id is not None:
            self._user[config_id] = user_id
        sign = 1 if side is Side.BUY else -1
        _move(self._notional, (config_id, condition_id.lower()), sign * notional)
        if token_id:
            _move(self._shares, (config_id, token_id), sign * shares)


def _move(amounts: dict[tuple[int, str], Decimal], key: tuple[int, str], delta: Decimal) -> None:
    """Add ``delta`` (never below 0); a position that went to 0 is forgotten (reads as 0 anyway), so the
    maps hold open positions only, not every (config, market) ever traded."""
    left = max(Decimal(0), amounts.get(key, Decimal(0)) + delta)
    if left:
        amounts[key] = left
    else:
        amounts.pop(key, None)
