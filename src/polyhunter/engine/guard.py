"""Guardrail state around the pure rules: daily notional reserved in the Coordinator, breakers per config
(shared through the Coordinator too: breakers.py).

A BUY copy reserves its notional in the user's and the global daily counters before it is sent
(one atomic add to both, across supervisors with Redis); a veto or a copy that does not spend gives
it back. The daily caps are caps on money put in: a SELL reserves nothing and is never refused by
them (a user at its cap can still exit); dry run, the circuit breaker and the per-trade max apply to both.

The store is the record of what was spent (`CopyStore.spent_today`: BUY copies PENDING, EXECUTED or
SETTLEMENT_PENDING today, each prewritten before it reserves); the counters are a cache of it that can
be lost (Redis restarted, flushed or evicting; a process restart for the in-memory coordinator).
A reservation only adds to counters that exist (`Coordinator.add_if_present`); when one is missing it
is built again from the store (`seed_counters`: create if absent, so two seeders never add up), then
the reservation is tried again. No reservation lands on an empty counter, so none can pass a cap
because the counters were lost. A snapshot of the store is a safe seed: every reservation made before
it has its PENDING row in it, and none is made after it on a counter that is missing. When the
coordinator cannot be reached, a reservation retries with a bounded backoff and is then vetoed
(COUNTERS_UNAVAILABLE): a copy never goes out on a count nobody could read.

A copy left PENDING (its order's result unknown) keeps its reservation until the PENDING sweep settles
it. Only the process that kept it gives it back (`keep_for_sweep`, `settle_kept`); a PENDING row of
another process, or one left by a process that died, may or may not be in the counters (a SIGKILLed
supervisor's prewrite can even reach the database after its death, never reserved): its sweep drops
the counters instead (`drop_counters`), and they are rebuilt from the store, which is exact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.domain.guardrails import (
    CircuitBreaker,
    GuardrailInput,
    GuardrailLimits,
    GuardrailRule,
    Veto,
    check_guardrails,
)
from polyhunter.domain.signal import Side, from_micro, to_micro
from polyhunter.engine.breakers import SharedBreakers
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator, CoordinatorUnavailable

log = get_logger(__name__)

DAY_MS = 86_400_000 + 3_600_000  # a little more than a day: counters are keyed by date anyway
# Waits between tries when the coordinator cannot be reached or a counter keeps going missing: ~3 s,
# about what a Redis restart takes, after which the copy is vetoed rather than held longer.
RETRY_DELAYS_S: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
MAX_KEPT = 100_000  # reservations of unknown orders remembered for this process's sweep

SpentToday = Callable[[datetime], Awaitable[dict[int, int]]]
"""Micro-USDC each user committed today as the store records it (`CopyStore.spent_today`)."""


_day_cache: tuple[int, str] = (-1, "")


def _day(now: datetime) -> str:
    """The UTC date of `now` as YYYYMMDD (memoized per day: it is asked for every copy)."""
    global _day_cache
    ordinal = now.astimezone(UTC).toordinal()
    if _day_cache[0] != ordinal:
        _day_cache = (ordinal, now.astimezone(UTC).strftime("%Y%m%d"))
    return _day_cache[1]


@dataclass(slots=True, eq=False)
class _Waiter:
    """A reservation waiting for missing counters; `own_micro`: what the store counts of its copy."""

    user_id: int
    own_micro: int
    seeded: bool = False


@dataclass(frozen=True, slots=True)
class Reservation:
    user_id: int
    day: str
    micro: int


def _user_key(user_id: int, day: str) -> str:
    return f"spent:user:{user_id}:{day}"


def _global_key(day: str) -> str:
    return f"spent:global:{day}"


class Guard:
    def __init__(
        self,
        coord: Coordinator,
        limits: GuardrailLimits,
        breaker_failures: int,
        breaker_cooldown_ms: int,
        *,
        spent_today: SpentToday | None = None,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        """`spent_today`: where lost counters are rebuilt from (the store); without it (benchmarks, tests
        with no store) a lost counter starts again at zero."""
        self._coord = coord
        self._spent_today = spent_today
        self._retry_delays_s = tuple(retry_delays_s)
        self._seed_lock = asyncio.Lock()
        self._awaiting_seed: dict[str, list[_Waiter]] = {}  # day -> reservations that found counters missing
        self._ahead_on = ""  # the day on which `_ahead_users` got tomorrow's counters at zero
        self._ahead_users: set[int] = set()
        self._unreachable_until = 0.0  # monotonic time until which a failed coordinator gets one try
        self.reseeds = 0  # times counters were rebuilt from the store after being found missing
        self.limits = limits
        self.breakers = SharedBreakers(coord, breaker_failures, breaker_cooldown_ms)
        # the platform switches in the database (`polyhunter switches`), set by the live sync
        self.halted = False
        self.dry_run = False
        self._user_limits: dict[int, GuardrailLimits] = {}  # followers with limits of their own
        self._kept: dict[int, Reservation] = {}  # copy trade id -> what its unknown order still holds

    def set_user_limits(
        self, user_id: int, *, daily_cap_usdc: Decimal | None = None, max_trade_usdc: Decimal | None = None
    ) -> None:
        """A follower's own guardrails: applied with the platform's, the stricter of each wins."""
        base = self.limits
        self._user_limits[user_id] = GuardrailLimits(
            base.max_trade_usdc if max_trade_usdc is None else min(base.max_trade_usdc, max_trade_usdc),
            base.daily_user_cap_usdc
            if daily_cap_usdc is None
            else min(base.daily_user_cap_usdc, daily_cap_usdc),
            base.global_daily_cap_usdc,
            base.dry_run,
        )

    def limits_for(self, user_id: int) -> GuardrailLimits:
        return self._user_limits.get(user_id, self.limits)

    def breaker(self, config_id: int) -> CircuitBreaker:
        """This process's breaker of the config (shared through the coordinator: engine/breakers.py)."""
        return self.breakers.local(config_id)

    async def seed(
        self, now: datetime, per_user_micro: dict[int, int], global_micro: int, users: Iterable[int] = ()
    ) -> None:
        """Start today's counters from the store's record (counters that exist keep their value);
        `users`: who else may copy today (their counters start at zero, so their first copies do not
        have to rebuild them)."""
        day = _day(now)
        values = {_user_key(user_id, day): 0 for user_id in users}
        values.update((_user_key(user_id, day), micro) for user_id, micro in per_user_micro.items())
        values[_global_key(day)] = global_micro
        await self._coord.seed_counters(values, DAY_MS)

    async def _reseed(self, day: str, now: datetime, waiter: _Waiter) -> None:
        """Rebuild `day`'s missing counters from a snapshot of the store, for `waiter` and every other
        reservation of this process that found them missing before the snapshot was taken (a burst
        after a flush costs a query or two, not one per copy).

        Whoever finds the counters there once it holds the seed lock (a seed of this process, or of
        another one, built them while it waited) goes back to reserving without a snapshot: the copies
        that queued behind the first seed do not read the store again.

        The snapshot counts each waiter's own PENDING row (prewritten before it reserves): that is taken
        out of the seed, since the waiter adds it once the counters exist. Other users' keys are not
        set from the snapshot: their copies in flight are in it too and would count twice; each user's
        counter is rebuilt by its own first reservation."""
        waiting = self._awaiting_seed.setdefault(day, [])
        waiting.append(waiter)
        try:
            async with self._seed_lock:
                if waiter.seeded:
                    return  # the seed before ours covered it
                keys = (_user_key(waiter.user_id, day), _global_key(day))
                if await self._coord.add_if_present(keys, 0) is not None:
                    return  # a seed since it found them missing built them: no snapshot to read again
                batch = self._awaiting_seed.pop(day, [])  # each one's row was committed before this
                try:
                    spent = await self._spent_today(now) if self._spent_today is not None else {}
                    own: dict[int, int] = {}
                    for w in batch:
                        own[w.user_id] = own.get(w.user_id, 0) + w.own_micro
                    values = {_user_key(u, day): max(0, spent.get(u, 0) - micro) for u, micro in own.items()}
                    values[_global_key(day)] = max(0, sum(spent.values()) - sum(own.values()))
                    await self._coord.seed_counters(values, DAY_MS)
                except BaseException:
                    self._awaiting_seed.setdefault(day, []).extend(w for w in batch if w is not waiter)
                    raise
                for w in batch:
                    w.seeded = True
                self.reseeds += 1
                log.warning(
                    "daily spend counters were missing; rebuilt from the store", day=day, keys=len(values)
                )
        finally:
            if not waiter.seeded and waiter in self._awaiting_seed.get(day, ()):
                self._awaiting_seed[day].remove(waiter)

    async def _tomorrow_at_zero(self, user_id: int, day: str, now: datetime) -> None:
        """Create tomorrow's counters (the global one and this user's) at zero, once a day per user,
        while no copy of tomorrow can exist yet: at midnight they are there, so the day's first
        copies do not rebuild them from a snapshot that holds copies in flight (which would count
        twice). Best effort: a counter missing at midnight is rebuilt from the store all the same."""
        if self._ahead_on != day:
            self._ahead_on, self._ahead_users = day, set()
        if user_id in self._ahead_users:
            return
        tomorrow = (now.astimezone(UTC) + timedelta(days=1)).strftime("%Y%m%d")
        values = {_user_key(user_id, tomorrow): 0}
        if not self._ahead_users:
            values[_global_key(tomorrow)] = 0
        try:
            await self._coord.seed_counters(values, 2 * DAY_MS)
        except CoordinatorUnavailable:
            return
        self._ahead_users.add(user_id)

    async def _reserve_micro(
        self, user_id: int, day: str, micro: int, now: datetime, own_micro: int
    ) -> tuple[int, int] | None:
        """Add `micro` to the user's and the global counters; their new totals, or None if the
        coordinator stayed unreachable (or the counters kept vanishing) through every retry."""
        keys = (_user_key(user_id, day), _global_key(day))
        # in an outage that another copy waited out just now, two tries (a connection broken by a
        # restart fails once): the pipeline does not stall on every copy
        outage = time.monotonic() < self._unreachable_until
        retries = self._retry_delays_s[:1] if outage else self._retry_delays_s
        for delay in (*retries, None):
            try:
                totals = await self._coord.add_if_present(keys, micro)
                if totals is not None:
                    self._unreachable_until = 0.0
                    return totals[0], totals[1]
                await self._reseed(day, now, _Waiter(user_id, own_micro))  # then try again at once
            except CoordinatorUnavailable as exc:
                if delay is None:
                    self._unreachable_until = time.monotonic() + max(1.0, sum(self._retry_delays_s))
                    log.error("daily spend counters unreachable; copy vetoed", user=user_id, error=str(exc))
                    return None
                log.warning("daily spend counters unreachable; retrying", user=user_id, error=str(exc))
                await asyncio.sleep(delay)
        return None  # the counters went missing again after every seed

    async def reserve(
        self,
        config_id: int,
        user_id: int,
        notional: Decimal,
        now: datetime,
        side: Side = Side.BUY,
        *,
        prewritten_at: datetime | None = None,
    ) -> tuple[Reservation | None, Veto | None]:
        """Check the guardrails and hold `notional` of the daily caps (BUY). `prewritten_at`: when this
        copy's row was prewritten, if it holds no reservation yet: the store counts it from then (as
        PENDING, by this notional), so a counter rebuilt meanwhile does not count it twice."""
        day = _day(now)
        micro = to_micro(notional)
        now_ms = int(now.timestamp() * 1000)
        if self.halted:
            return None, Veto(GuardrailRule.KILL_SWITCH, "the platform is halted: nothing is sent")
        breaker_open = await self.breakers.is_open(config_id, user_id, now_ms)
        limits = self.limits_for(user_id)
        if self.dry_run and not limits.dry_run:
            limits = dataclasses.replace(limits, dry_run=True)
        if limits.dry_run or breaker_open or notional > limits.max_trade_usdc:
            veto = check_guardrails(limits, GuardrailInput(notional, Decimal(0), Decimal(0), breaker_open))
            return None, veto
        if side is Side.SELL:
            return Reservation(user_id, day, 0), None
        own = micro if prewritten_at is not None and _day(prewritten_at) == day else 0
        totals = await self._reserve_micro(user_id, day, micro, now, own)
        if totals is None:
            return None, Veto(GuardrailRule.COUNTERS_UNAVAILABLE, "daily spend counters could not be read")
        user_total, global_total = totals
        await self._tomorrow_at_zero(user_id, day, now)
        inp = GuardrailInput(
            notional, from_micro(user_total - micro), from_micro(global_total - micro), breaker_open
        )
        veto = check_guardrails(limits, inp)
        reservation = Reservation(user_id, day, micro)
        if veto is not None:
            await self.release(reservation)
            return None, veto
        return reservation, None

    def keep_for_sweep(self, trade_id: int, reservation: Reservation, kept_micro: int) -> None:
        """Note what a copy left PENDING (its result unknown) still holds of the daily caps: the PENDING
        sweep of this process gives exactly that back if the venue never saw the order (`settle_kept`)."""
        if len(self._kept) >= MAX_KEPT:  # another supervisor's sweep settled the oldest: theirs now
            del self._kept[next(iter(self._kept))]
        self._kept[trade_id] = Reservation(
            reservation.user_id, reservation.day, min(kept_micro, reservation.micro)
        )

    def holds(self, trade_id: int) -> bool:
        """Whether this process knows what the PENDING copy `trade_id` holds of the daily caps."""
        return trade_id in self._kept

    async def settle_kept(self, trade_id: int, *, spent: bool) -> None:
        """The PENDING copy `trade_id` this process kept a reservation for is settled: if nothing was
        spent (expired unseen) its reservation is given back; if its order filled, it stays counted."""
        kept = self._kept.pop(trade_id, None)
        if kept is not None and not spent:
            await self.release(kept)

    async def drop_counters(self, user_id: int, day_of: datetime) -> bool:
        """Drop the user's and the global daily counters of `day_of`'s date, so the next reservation
        builds them again from the store. For a PENDING copy settled by a process that does not know
        what it holds of them (left by a process that died or stopped: it may have reserved, or died
        before it could, or its prewrite may have reached the database only after its death): giving
        back its notional could take off what was never added. False if the coordinator stayed
        unreachable (the copy is not settled then, and is tried again on the next sweep)."""
        day = _day(day_of)
        keys = (_user_key(user_id, day), _global_key(day))
        for delay in (*self._retry_delays_s, None):
            try:
                await self._coord.drop_counters(keys)
                return True
            except CoordinatorUnavailable as exc:
                if delay is None:
                    log.error("could not drop the daily spend counters", user=user_id, error=str(exc))
                    return False
            await asyncio.sleep(delay)
        return False

    async def release(self, reservation: Reservation, keep_micro: int = 0) -> None:
        """Give back what a copy reserved but did not spend (all of it, or all but `keep_micro`)."""
        back = reservation.micro - keep_micro
        if back:
            await self._give_back(_user_key(reservation.user_id, reservation.day), back)
            await self._give_back(_global_key(reservation.day), back)

    async def _give_back(self, key: str, micro: int) -> None:
        """Subtract from a counter that exists (it holds the reservation: made on it, or seeded from the
        store while the copy's row was PENDING). A missing counter is left missing: its next seed reads
        what the copy really spent. Unreachable through every retry: the counter keeps the reservation
        (it may refuse a copy it could have allowed, never the other way round)."""
        for delay in (*self._retry_delays_s, None):
            try:
                await self._coord.add_if_present((key,), -micro)
                return
            except CoordinatorUnavailable as exc:
                if delay is None:
                    log.error(
                        "could not give back a reservation; the counter keeps it", key=key, error=str(exc)
                    )
                    return
            await asyncio.sleep(delay)
