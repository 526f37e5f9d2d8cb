"""Deterministic scenarios (same ``--seed`` → same markets, wallets and order flow).

* ``quiet``: market makers keep a ladder of depth on every market; nobody takes.
* ``leaders``: as quiet, plus ``leaders`` wallets taking liquidity on ``markets`` markets at ``rate``
  fills per second (Poisson), with sizes shaped like recorded trades (log-normal with median 40
  shares, clamped to [5, 5000], mostly BUYs, SELLs of what they hold) and prices from the book: each
  is a FAK two ticks through the touch, so fills print on the makers' ladder (1 to ``maker_levels``
  ticks from the market's fair price).
* ``replay``: a JSON array of recorded Data API trade rows (or RTDS activity frames) is published as
  the venue showed it (see ``scenario_replay``): same transactions, legs, counterparties and sizes,
  in time order with the recorded gaps divided by ``speed``, after ``replay_delay_s``, on RTDS, the
  Data API and (chain mode) the chain. The makers' ladders follow each row's price, so copies fill
  near it. The markets are built from the rows (their condition ids, token ids, titles and slugs).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from polyhunter.domain.signal import Side
from polyhunter.log import get_logger
from polyhunter.sim.chain_mirror import MirrorMatch
from polyhunter.sim.markets import Market, token_id_for
from polyhunter.sim.orders import OrderType
from polyhunter.sim.scenario_agents import MarketMaker, Participants, address_for, snap
from polyhunter.sim.scenario_markets import MarketInfo, build_catalog
from polyhunter.sim.scenario_replay import (
    ReplayTx,
    fill_rows_of,
    load_replay,
    mirror_match_of,
    replay_transactions,
)
from polyhunter.sim.state import SimState
from polyhunter.sim.state_records import UserProfile
from polyhunter.sim.units import MICRO

__all__ = ["SCENARIOS", "ScenarioConfig", "ScenarioRunner", "catalog_for", "load_replay"]

log = get_logger(__name__)
SCENARIOS = ("quiet", "leaders", "replay")
_NAMES = ("Talvez10", "CemeterySun", "Momo63", "WhaleWatch", "SharpMoney", "QuietFox", "BayesBet", "Kelly")


def _tomorrow() -> datetime:
    """Midnight UTC tomorrow: market dates (names, slugs, end dates) are relative to the run day;
    condition and token ids depend on the seed alone."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


@dataclass(frozen=True)
class ScenarioConfig:
    name: str = "quiet"
    seed: int = 0
    markets: int = 4
    leaders: int = 3
    rate: float = 1.0  # leader fills per second (leaders scenario)
    replay_file: Path | None = None
    speed: float = 1.0
    replay_delay_s: float = 0.0  # wait before the first replayed row
    maker_levels: int = 5
    maker_level_size: Decimal = Decimal(500)
    refresh_s: float = 1.0
    start: datetime = field(default_factory=_tomorrow)  # markets end in the future
    # Every N seconds the next market (catalog order) resolves, to the outcome its maker prices above
    # 0.5: its orders are cancelled, the market channel sends market_resolved, Gamma and the CLOB show
    # it closed with its winner, and holders redeem for themselves (POST /sim/redeem), as on chain.
    resolve_every_s: float | None = None
    min_order_size: Decimal | None = None  # shares; None: each market's own (5)

    def __post_init__(self) -> None:
        if self.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.name!r} (one of {', '.join(SCENARIOS)})")
        if (
            self.markets < 1
            or self.leaders < 0
            or self.rate < 0
            or self.speed <= 0
            or self.replay_delay_s < 0
            or (
                self.min_order_size is not None
                and not (self.min_order_size.is_finite() and self.min_order_size >= 0)
            )
        ):
            raise ValueError(
                "markets >= 1, leaders >= 0, rate >= 0, speed > 0, replay delay >= 0 and min order size >= 0"
                " are required"
            )
        if self.resolve_every_s is not None and not 0 < self.resolve_every_s < 86_400 * 365:
            raise ValueError("resolve_every_s must be > 0 seconds")
        if self.name == "replay" and self.replay_file is None:
            raise ValueError("the replay scenario needs --replay-file")


def _replay_tick(prices: list[Decimal]) -> Decimal:
    for tick in (Decimal("0.01"), Decimal("0.001"), Decimal("0.0001")):
        if all(p % tick == 0 for p in prices):
            return tick
    return Decimal("0.0001")


def _replay_catalog(rows: list[dict[str, Any]], seed: int, start: datetime) -> list[MarketInfo]:
    by_cid: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_cid.setdefault(str(row["conditionId"]).lower(), []).append(row)
    out = []
    for index, (cid, group) in enumerate(by_cid.items()):
        tokens = ["", ""]
        outcomes = ["Yes", "No"]
        for row in group:
            i = int(row.get("outcomeIndex", 0)) if int(row.get("outcomeIndex", 0)) in (0, 1) else 0
            tokens[i] = str(row["asset"])
            if row.get("outcome"):
                outcomes[i] = str(row["outcome"])
        for i in (0, 1):
            tokens[i] = tokens[i] or token_id_for(f"replay-{seed}", index, i)
        head = group[0]
        market = Market(
            condition_id=cid,
            tokens=(tokens[0], tokens[1]),
            outcomes=(outcomes[0], outcomes[1]),
            question=str(head.get("title") or f"Replayed market {index}"),
            slug=str(head.get("slug") or f"replay-market-{index}"),
            tick_size=_replay_tick([Decimal(str(r["price"])) for r in group]),
            min_order_size=Decimal(5),
        )
        out.append(
            MarketInfo(
                market=market,
                gamma_id=600_000 + index,
                event_id=95_000 + index,
                event_slug=str(head.get("eventSlug") or market.slug),
                event_title=str(head.get("title") or market.question),
                icon=str(head.get("icon") or ""),
                category="Replay",
                end_date=start,
            )
        )
    return out


def catalog_for(config: ScenarioConfig) -> list[MarketInfo]:
    if config.name == "replay":
        assert config.replay_file is not None
        catalog = _replay_catalog(load_replay(config.replay_file), config.seed, config.start)
    else:
        catalog = build_catalog(config.seed, config.markets, config.start)
    if config.min_order_size is None:
        return catalog
    size = config.min_order_size
    return [replace(i, market=i.market.with_changes(min_order_size=size)) for i in catalog]


class ScenarioRunner:
    """Seeds the makers, then runs the scenario's background tasks until ``stop()``."""

    def __init__(self, config: ScenarioConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.agents = Participants(state, config.seed)
        self.rng = random.Random(f"scenario:{config.seed}")  # noqa: S311 - simulation draws
        self.makers: dict[str, MarketMaker] = {}
        self.leaders: list[str] = []
        self.fills = 0
        self.skipped = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.chain_emit: Callable[[MirrorMatch], Awaitable[str]] | None = None  # set in chain mode
        self._replay_go = asyncio.Event()
        self._replay_rows = (
            load_replay(config.replay_file) if config.replay_file and config.name == "replay" else []
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.config.name,
            "seed": self.config.seed,
            "leaders": [
                {
                    "address": a,
                    "name": self.state.profile(a).name,
                    "pseudonym": self.state.profile(a).pseudonym,
                }
                for a in self.leaders
            ],
            "makers": sorted(m.address for m in self.makers.values()),
            "markets": [
                {
                    "condition_id": i.condition_id,
                    "tokens": list(i.market.tokens),
                    "outcomes": list(i.market.outcomes),
                    "question": i.title,
                    "slug": i.slug,
                    "event_slug": i.event_slug,
                    "neg_risk": i.market.neg_risk,
                    "tick_size": str(i.market.tick_size),
                    "min_order_size": str(i.market.min_order_size),
                }
                for i in self.state.catalog
            ],
            "leader_fills": self.fills,
            "skipped_rows": self.skipped,
        }

    async def start(self) -> None:
        for index, info in enumerate(self.state.catalog):
            fair = Decimal(self.rng.randrange(25, 76)) / 100
            if self._replay_rows:
                first = next(
                    r for r in self._replay_rows if str(r["conditionId"]).lower() == info.condition_id
                )
                price = Decimal(str(first["price"]))
                fair = price if int(first.get("outcomeIndex", 0)) == 0 else 1 - price
            maker = MarketMaker(
                self.agents,
                info.market,
                address_for(self.config.seed, "maker", index),
                fair,
                levels=self.config.maker_levels,
                level_size=self.config.maker_level_size,
            )
            self.state.set_profile(
                maker.address, UserProfile(name=f"sim-maker-{index}", pseudonym="Market-Maker")
            )
            maker.refresh()
            self.makers[info.condition_id] = maker
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="sim-makers"))
        if self.config.name == "leaders":
            self._setup_leaders()
            if self.config.rate > 0 and self.leaders:
                self._tasks.append(asyncio.create_task(self._leader_loop(), name="sim-leaders"))
        elif self.config.name == "replay":
            self._setup_replay_profiles()
            self._tasks.append(asyncio.create_task(self._replay_loop(), name="sim-replay"))
        if self.config.resolve_every_s is not None:
            self._tasks.append(
                asyncio.create_task(self._resolve_loop(self.config.resolve_every_s), name="sim-resolve")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.refresh_s)
            for maker in self.makers.values():
                try:
                    maker.refresh()
                except Exception as exc:  # one market's trouble must not stop the others' quotes
                    log.warning("sim.maker_refresh_failed", market=maker.market.condition_id, error=str(exc))

    def resolve_next(self) -> str | None:
        """Resolve the first market still open, to the outcome its maker prices above 0.5 (the first
        outcome at exactly 0.5); None when every market is resolved."""
        for info in self.state.catalog:
            if self.state.is_resolved(info.condition_id):
                continue
            maker = self.makers.get(info.condition_id)
            fair = maker.fair if maker is not None else Decimal("0.5")
            tokens = info.market.tokens
            winner = tokens[0] if fair >= Decimal("0.5") else tokens[1]
            self.state.resolve(info.condition_id, winner, auto_redeem=False)
            log.info("sim.market_resolved", condition_id=info.condition_id, winning_token=winner)
            return info.condition_id
        return None

    async def _resolve_loop(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            if self.resolve_next() is None:
                return

    # -- leaders ----------------------------------------------------------------------------------
    def _setup_leaders(self) -> None:
        for i in range(self.config.leaders):
            address = address_for(self.config.seed, "leader", i)
            self.leaders.append(address)
            name = _NAMES[i % len(_NAMES)] + (str(i // len(_NAMES)) if i >= len(_NAMES) else "")
            self.state.set_profile(address, UserProfile(name=name, pseudonym=f"Leader-{i}"))
            self.state.fund_collateral(address, 1_000_000 * MICRO)

    def _leader_size(self) -> Decimal:
        shares = math.exp(self.rng.gauss(math.log(40), 1.1))
        return Decimal(str(min(max(shares, 5.0), 5000.0))).quantize(Decimal("0.01"))

    def leader_trade(self) -> bool:
        """One leader fill: pick a leader, market and outcome; sell what it holds or buy."""
        leader = self.rng.choice(self.leaders)
        info = self.rng.choice(self.state.catalog)
        market = self.state.engine.market(info.condition_id)
        if not market.accepting_orders:
            return False
        token = market.tokens[self.rng.randrange(2)]
        held = self.state.engine.account(leader).tokens_available(token)
        size = int(self._leader_size() * MICRO)
        side = Side.SELL if held >= 5 * MICRO and self.rng.random() < 0.3 else Side.BUY
        bid, ask = self.state.engine.best_bid_ask(token)
        tick = market.tick_size
        if side is Side.SELL:
            size = min(size, held - held % 10_000)
            if bid is None:
                return False
            price = snap(bid - 2 * tick, tick)
        else:
            if ask is None:
                return False
            price = snap(ask + 2 * tick, tick)
            size = max(size, int((Decimal(MICRO) / price).to_integral_value(ROUND_HALF_UP)) + 10_000)
        result = self.agents.submit(leader, token, side, price, size, OrderType.FAK)
        self.fills += int(result.success and result.status == "matched")
        return result.success

    async def _leader_loop(self) -> None:
        while True:
            await asyncio.sleep(self.rng.expovariate(self.config.rate))
            try:
                self.leader_trade()
            except Exception as exc:  # keep the flow going; the next draw picks another trade
                log.warning("sim.leader_trade_failed", error=str(exc))

    # -- replay -----------------------------------------------------------------------------------
    def _setup_replay_profiles(self) -> None:
        for row in self._replay_rows:
            wallet = str(row["proxyWallet"]).lower()
            if wallet not in self.leaders:
                self.leaders.append(wallet)
                self.state.set_profile(
                    wallet,
                    UserProfile(
                        name=str(row.get("name") or ""),
                        pseudonym=str(row.get("pseudonym") or ""),
                        bio=str(row.get("bio") or ""),
                        profile_image=str(row.get("profileImage") or ""),
                    ),
                )

    def begin_replay(self) -> None:
        """Start the replay now, cutting ``replay_delay_s`` short (a test whose watcher is ready)."""
        self._replay_go.set()

    async def replay_tx(self, tx: ReplayTx) -> bool:
        """Publish one recorded transaction; the makers' ladders move to its prices."""
        if any(self.state.info_by_condition(str(r["conditionId"])) is None for r in tx.rows):
            self.skipped += len(tx.rows)
            return False
        for row in tx.rows:
            info = self.state.info_by_condition(str(row["conditionId"]))
            assert info is not None
            market = self.state.engine.market(info.condition_id)
            price = snap(Decimal(str(row["price"])), market.tick_size)
            self.makers[info.condition_id].recenter(price if row["asset"] == market.tokens[0] else 1 - price)
        tx_hash = tx.tx_hash
        if self.chain_emit is not None:
            tx_hash = await self.chain_emit(mirror_match_of(tx))
        self.state.publish_fills(fill_rows_of(tx, tx_hash, self.state.now_ms()))
        self.fills += len(tx.rows)
        return True

    async def _replay_loop(self) -> None:
        transactions = replay_transactions(self._replay_rows)
        if not transactions:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._replay_go.wait(), self.config.replay_delay_s)
        loop = asyncio.get_running_loop()
        t0, began = transactions[0].timestamp, loop.time()
        for tx in transactions:
            due = began + (tx.timestamp - t0) / self.config.speed
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.replay_tx(tx)
            except Exception as exc:  # one bad row must not end the replay
                self.skipped += len(tx.rows)
                log.warning("sim.replay_row_failed", tx=tx.tx_hash, error=str(exc))
