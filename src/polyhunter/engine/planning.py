"""Planning one copy before anything is written: the market the filters see, the filters, and the
size (with the follower's and leader's state the sizing reads). Pure decisions over what the engine
knows; the result is the row the prewrite inserts (PENDING, or SKIPPED with its reason)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode, MarketRef, SizingMode
from polyhunter.domain.errors import OperatorNeededError
from polyhunter.domain.filters import check_filters
from polyhunter.domain.lifecycle import MARKET_CLOSED
from polyhunter.domain.signal import Side, Signal, to_micro
from polyhunter.domain.sizing import SizeDecision, SizingContext, size_copy
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.balances import FollowerFunds
from polyhunter.engine.market_meta import ClosedMarkets, MarketDirectory
from polyhunter.engine.positions import FollowerExposure, LeaderPortfolio
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.log import get_logger
from polyhunter.ports.store import NewCopy, StoredConfig

log = get_logger(__name__)

SKIPPED = CopyTradeState.SKIPPED
CONFIG_PAUSED = "CONFIG_PAUSED"  # the reason of a paused config's copies (an operator resumes it)
MAX_MICRO = 2**63 - 1  # what a stored amount can hold (BIGINT); a size past it is a poison config


def skipped_copy(signal: Signal, stored: StoredConfig, reason: str) -> NewCopy:
    """The row of a copy not made: SKIPPED with `reason`, nothing sized."""
    cfg = stored.config
    return NewCopy(
        config_id=cfg.id,
        config_version=cfg.version,
        user_id=cfg.user_id,
        side=signal.side,
        asset=signal.asset,
        size_micro=0,
        price_micro=to_micro(signal.price),
        notional_micro=0,
        state=SKIPPED,
        reason=reason,
    )


class Planner:
    def __init__(
        self,
        funds: FollowerFunds,
        exposure: FollowerExposure,
        metrics: StageMetrics,
        *,
        markets: MarketDirectory | None = None,
        portfolio: LeaderPortfolio | None = None,
        positions_value: Callable[[CustodyMode, int], Awaitable[Decimal]] | None = None,
    ) -> None:
        self.funds = funds
        self.exposure = exposure
        self.metrics = metrics
        self.markets = markets
        self.portfolio = portfolio  # leaders' Data API positions: PROPORTIONAL equity
        self._positions_value = positions_value  # a follower's open positions at market (PROPORTIONAL)
        self.closed: ClosedMarkets | None = None  # markets that take no orders: their copies are SKIPPED

    async def market(self, signal: Signal, needs_market: bool) -> MarketRef | None:
        """What the market filters match on: the signal's own condition id and slug, plus the market's
        slug and tags from the directory when a config of this leader names slugs or tags (None: that
        lookup failed; the filters then skip rather than guess)."""
        own = MarketRef(signal.condition_id, signal.slug)
        if not needs_market:
            return own
        if self.markets is None:  # no directory to ask: slug and tag lists cannot be decided
            return None
        with self.metrics.time("market_meta"):
            found = await self.markets.market(signal.condition_id)
        if found is None:
            return None
        return MarketRef(signal.condition_id, found.slug or signal.slug, found.tags)

    async def plan(
        self,
        signal: Signal,
        stored: StoredConfig,
        leader_before: Decimal | None,
        market: MarketRef | None,
    ) -> tuple[StoredConfig, NewCopy, SizeDecision]:
        """`leader_before` None: the leader's position before this SELL is unknown (positions.py).
        A paused config's copy is SKIPPED `CONFIG_PAUSED`. Raises `OperatorNeededError`
        (`SIZE_OUT_OF_RANGE`) for a size no store can hold (a poison config), and whatever its sizing
        inputs raise: the engine isolates it to this config."""
        cfg = stored.config
        if stored.paused_reason is not None:
            return stored, skipped_copy(signal, stored, CONFIG_PAUSED), SizeDecision(Decimal(0), Decimal(0))
        if self.closed is not None and signal.condition_id in self.closed:
            return stored, skipped_copy(signal, stored, MARKET_CLOSED), SizeDecision(Decimal(0), Decimal(0))
        skip = check_filters(cfg, signal, market)
        size = SizeDecision(Decimal(0), Decimal(0))
        reason: str | None = str(skip) if skip else None
        if skip is None and leader_before is None and cfg.mirror_sells:
            reason = "LEADER_POSITION_UNAVAILABLE"  # a partial sell must not pass for a full exit
        elif skip is None:
            before = leader_before if leader_before is not None else Decimal(0)
            ctx = await self._sizing_context(signal, stored, before)
            if ctx is None:
                reason = "EQUITY_UNAVAILABLE"
            else:
                size = size_copy(cfg, signal, ctx)
                reason = str(size.skip) if size.skip else None
        if not (0 <= to_micro(size.shares) <= MAX_MICRO and 0 <= to_micro(size.notional) <= MAX_MICRO):
            raise OperatorNeededError(
                "SIZE_OUT_OF_RANGE", f"config {cfg.id}: {size.shares} shares for {size.notional} USDC"
            )
        new = NewCopy(
            config_id=cfg.id,
            config_version=cfg.version,
            user_id=cfg.user_id,
            side=signal.side,
            asset=signal.asset,
            size_micro=to_micro(size.shares),
            price_micro=to_micro(signal.price),
            notional_micro=to_micro(size.notional),
            state=SKIPPED if reason else CopyTradeState.PENDING,
            reason=reason,
        )
        return stored, new, size

    async def _sizing_context(
        self, signal: Signal, stored: StoredConfig, leader_before: Decimal
    ) -> SizingContext | None:
        """What the sizing needs to know; None if a PROPORTIONAL config's equities cannot be read."""
        cfg = stored.config
        follower_shares = Decimal(0)
        if signal.side is Side.SELL:
            # What this config bought (and still holds in the wallet), not every share of the wallet.
            wallet = (await self.funds.get(cfg.custody, cfg.user_id, signal.asset)).balance
            follower_shares = min(wallet, self.exposure.shares(cfg.id, signal.asset))
        follower_equity = leader_equity = Decimal(0)
        if cfg.sizing is SizingMode.PROPORTIONAL:
            try:
                follower_equity, leader_equity = await self._equities(stored, signal.leader)
            except Exception as exc:  # noqa: BLE001 - one config's missing equity must not sink the signal
                log.warning("equity unavailable", config=cfg.id, leader=signal.leader, error=str(exc))
                return None
        return SizingContext(
            follower_position_shares=follower_shares,
            follower_market_notional=self.exposure.get(cfg.id, signal.condition_id),
            leader_position_before=leader_before,
            follower_equity=follower_equity,
            leader_equity=leader_equity,
        )

    async def _equities(self, stored: StoredConfig, leader: str) -> tuple[Decimal, Decimal]:
        """(follower, leader) equity for PROPORTIONAL sizing, as `domain.sizing` defines them: the
        follower's cash plus its open positions at market; the leader's open positions at market (its
        cash is not observable)."""
        cfg = stored.config
        follower = (await self.funds.get(cfg.custody, cfg.user_id)).balance
        if self._positions_value is not None:
            follower += await self._positions_value(cfg.custody, cfg.user_id)
        leader_equity = await self.portfolio.equity(leader) if self.portfolio is not None else Decimal(0)
        return follower, leader_equity
