"""The market lifecycle: markets followers hold (or copy into) close, resolve and change their tick.

Where it hears of it: the market channel (`tick_size_change`, `market_resolved`: ingest/market_channel.py
calls `on_tick_change` and `on_resolved`), the venue's market record of each market followers hold
(`poll_once`, every `interval_s`: closed, and the winning token once resolved), and the venue refusing
a copy's order on a closed market (`ClosedMarkets.note` -> `check`).

What it does:

* a closed market goes into `ClosedMarkets`: later copies into it are SKIPPED `MARKET_CLOSED`;
* a tick change goes to the pricer: later copies are priced on the new tick;
* a resolved market is redeemed for every follower with executed copies in it, by its custody's
  `Redeemer`, and its realized PnL recorded (payout + proceeds - cost - fees, micro-USDC).

A redemption is exactly-once however often the resolution arrives (the market channel and the poll
both tell it; a restart tells it again): one redemption at a time per market, and the store's row per
(follower, market) is PENDING before the payout is collected and REDEEMED after. A PENDING row found
with nothing left to redeem was paid before (a process killed between the payout and its record): it is
recorded with the payout written when it began, and nothing is collected twice. A redeem that fails
leaves the row PENDING with its error; the next poll tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.lifecycle import RedemptionState, realized_pnl_micro
from polyhunter.domain.signal import to_micro
from polyhunter.engine.market_meta import ClosedMarkets
from polyhunter.engine.pricing import Pricer
from polyhunter.log import get_logger
from polyhunter.ports.lifecycle import Holder, MarketStatusReader, Redeemer, RedemptionStore
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)


@dataclass(slots=True)
class LifecycleStats:
    resolutions: int = 0  # resolutions heard (every source, repeats included)
    unknown_markets: int = 0  # resolutions of markets no follower holds
    redeemed: int = 0  # redemptions recorded REDEEMED by this process
    recovered: int = 0  # ... of which were paid before (found with nothing left to redeem)
    redeem_failures: int = 0
    tick_changes: int = 0
    closed_markets: int = 0
    poll_errors: int = 0


class MarketLifecycle:
    def __init__(
        self,
        store: RedemptionStore,
        status: MarketStatusReader,
        redeemers: Mapping[CustodyMode, Redeemer],
        closed: ClosedMarkets,
        pricer: Pricer,
        *,
        interval_s: float,
        on_redeemed: Callable[[CustodyMode, int], None] | None = None,
    ) -> None:
        self._store = store
        self._status = status
        self._redeemers = redeemers
        self.closed = closed
        self._pricer = pricer
        self._interval_s = interval_s
        self._on_redeemed = on_redeemed  # a follower's funds changed: forget its cached balance
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._checks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self.stats = LifecycleStats()
        closed.on_note = self._check_soon

    # ------------------------------------------------------------------------------ what is heard

    def on_tick_change(self, token_id: str, tick: Decimal) -> None:
        self.stats.tick_changes += 1
        log.info("tick size changed", token=token_id, tick=str(tick))
        self._pricer.set_tick(token_id, tick)

    def on_closed(self, condition_id: str) -> None:
        if condition_id not in self.closed:
            self.stats.closed_markets += 1
            log.info("market closed; no more copies into it", condition_id=condition_id)
        self.closed.add(condition_id)

    async def on_resolved(self, condition_id: str, winning_token: str, tokens: tuple[str, ...]) -> None:
        """Redeem the market for every follower holding it (idempotent: see the module docstring)."""
        cid = condition_id.lower()
        self.stats.resolutions += 1
        if winning_token not in tokens:
            log.warning("resolution names a token not in the market; ignored", condition_id=cid)
            return
        self.on_closed(cid)
        async with self._locks[cid]:
            holders = await self._store.holders(cid)
            if not holders:
                self.stats.unknown_markets += 1
                log.info("resolved market held by no follower", condition_id=cid)
                return
            done = {
                r.user_id for r in await self._store.redemptions(cid) if r.state is RedemptionState.REDEEMED
            }
            for holder in holders:
                if holder.user_id not in done:
                    await self._redeem(holder, cid, winning_token, tokens)

    async def check(self, condition_id: str) -> None:
        """Ask the venue about one market and act on what it says."""
        state = await self._status.market_state(condition_id)
        if state is None:
            return
        if state.closed or not state.accepting_orders:
            self.on_closed(state.condition_id)
        if state.winning_token is not None:
            await self.on_resolved(state.condition_id, state.winning_token, state.tokens)

    # ------------------------------------------------------------------------------ redemption

    async def _redeem(self, holder: Holder, cid: str, winner: str, tokens: tuple[str, ...]) -> None:
        redeemer = self._redeemers.get(holder.custody)
        if redeemer is None:
            log.warning("no redeemer for the custody", custody=str(holder.custody), user=holder.user_id)
            return
        now = datetime.now(UTC)
        try:
            held = await redeemer.held(holder.user_id, tokens)
            won = to_micro(held.get(winner, Decimal(0)))
            row = await self._store.begin_redemption(holder, cid, winner, won, won, now)
            if row.state is RedemptionState.REDEEMED:
                return
            if any(v > 0 for v in held.values()):
                answered = to_micro(await redeemer.redeem(holder.user_id, cid, tokens, winner))
                if answered != won:  # e.g. a retried call whose first try was paid: 1 per winning share
                    log.warning("redeem answered another payout", expected=won, answered=answered)
                paid = won
            else:  # nothing left: paid before its record (or nothing was held at the end)
                paid = row.payout_micro
                if row.shares_micro > 0:
                    self.stats.recovered += 1
        except Exception as exc:  # noqa: BLE001 - one follower's failed redeem is retried by the poll
            self.stats.redeem_failures += 1
            log.warning("redeem failed; retried later", user=holder.user_id, condition_id=cid, error=str(exc))
            with contextlib.suppress(Exception):
                rows = [r for r in await self._store.redemptions(cid) if r.user_id == holder.user_id]
                if rows:
                    await self._store.note_redemption_failure(rows[0].id, f"{type(exc).__name__}: {exc}", now)
            return
        pnl = realized_pnl_micro(paid, holder.book)
        if await self._store.finish_redemption(row.id, paid, pnl, datetime.now(UTC)):
            self.stats.redeemed += 1
            log.info(
                "market redeemed", user=holder.user_id, condition_id=cid, payout_micro=paid, pnl_micro=pnl
            )
        if self._on_redeemed is not None:
            self._on_redeemed(holder.custody, holder.user_id)

    async def tokens(self) -> set[str]:
        """What the market channel follows: the tokens of held markets and those copied lately."""
        held = await self._store.held_markets()
        return {t for tokens in held.values() for t in tokens} | set(self.closed.watched)

    # ------------------------------------------------------------------------------ the poll

    def _check_soon(self, condition_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._quiet_check(condition_id))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _quiet_check(self, condition_id: str) -> None:
        try:
            await self.check(condition_id)
        except Exception as exc:  # noqa: BLE001 - the poll asks again
            self.stats.poll_errors += 1
            log.warning("market check failed", condition_id=condition_id, error=str(exc))

    async def poll_once(self) -> None:
        """Every market followers hold and have not redeemed: what the venue says of it now."""
        for cid in await self._store.held_markets():
            await self._quiet_check(cid)

    async def run(self) -> None:
        while not self._stop.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - a store outage: the next round tries again
                self.stats.poll_errors += 1
                log.warning("market lifecycle poll failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval_s)

    async def close(self) -> None:
        self._stop.set()
        for task in list(self._checks):
            task.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)
