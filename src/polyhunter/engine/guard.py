"""Guardrail state around the pure rules: daily notional reserved in the Coordinator, breakers per config.

A BUY copy reserves its notional in the user's and the global daily counters before it is sent
(atomic INCRBY with Redis across supervisors); a veto or a copy that does not spend gives it back.
The daily caps are caps on money put in: a SELL reserves nothing and is never refused by them (a
user at its cap can still exit); dry run, the circuit breaker and the per-trade max apply to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.guardrails import (
    CircuitBreaker,
    GuardrailInput,
    GuardrailLimits,
    Veto,
    check_guardrails,
)
from polyhunter.domain.signal import Side, from_micro, to_micro
from polyhunter.ports.coordinator import Coordinator

DAY_MS = 86_400_000 + 3_600_000  # a little more than a day: counters are keyed by date anyway


_day_cache: tuple[int, str] = (-1, "")


def _day(now: datetime) -> str:
    """The UTC date of `now` as YYYYMMDD (memoized per day: it is asked for every copy)."""
    global _day_cache
    ordinal = now.astimezone(UTC).toordinal()
    if _day_cache[0] != ordinal:
        _day_cache = (ordinal, now.astimezone(UTC).strftime("%Y%m%d"))
    return _day_cache[1]


@dataclass(frozen=True, slots=True)
class Reservation:
    user_id: int
    day: str
    micro: int


class Guard:
    def __init__(
        self, coord: Coordinator, limits: GuardrailLimits, breaker_failures: int, breaker_cooldown_ms: int
    ) -> None:
        self._coord = coord
        self.limits = limits
        self._breaker_failures = breaker_failures
        self._breaker_cooldown_ms = breaker_cooldown_ms
        self._breakers: dict[int, CircuitBreaker] = {}
        self._user_limits: dict[int, GuardrailLimits] = {}  # followers with limits of their own

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
        b = self._breakers.get(config_id)
        if b is None:
            b = self._breakers[config_id] = CircuitBreaker(self._breaker_failures, self._breaker_cooldown_ms)
        return b

    async def seed(self, now: datetime, per_user_micro: dict[int, int], global_micro: int) -> None:
        """Start today's counters from the database after a restart (only if the counters are empty)."""
        day = _day(now)
        if await self._coord.get_counter(f"spent:global:{day}") == 0 and global_micro:
            await self._coord.incr(f"spent:global:{day}", global_micro, DAY_MS)
            for user_id, micro in per_user_micro.items():
                await self._coord.incr(f"spent:user:{user_id}:{day}", micro, DAY_MS)

    async def reserve(
        self, config_id: int, user_id: int, notional: Decimal, now: datetime, side: Side = Side.BUY
    ) -> tuple[Reservation | None, Veto | None]:
        day = _day(now)
        micro = to_micro(notional)
        now_ms = int(now.timestamp() * 1000)
        breaker_open = self.breaker(config_id).is_open(now_ms)
        limits = self.limits_for(user_id)
        if limits.dry_run or breaker_open or notional > limits.max_trade_usdc:
            veto = check_guardrails(limits, GuardrailInput(notional, Decimal(0), Decimal(0), breaker_open))
            return None, veto
        if side is Side.SELL:
            return Reservation(user_id, day, 0), None
        user_total = await self._coord.incr(f"spent:user:{user_id}:{day}", micro, DAY_MS)
        global_total = await self._coord.incr(f"spent:global:{day}", micro, DAY_MS)
        inp = GuardrailInput(
            notional, from_micro(user_total - micro), from_micro(global_total - micro), breaker_open
        )
        veto = check_guardrails(limits, inp)
        reservation = Reservation(user_id, day, micro)
        if veto is not None:
            await self.release(reservation)
            return None, veto
        return reservation, None

    async def refund(self, user_id: int, reserved_at: datetime, micro: int) -> None:
        """Give back a reservation a copy kept though nothing was spent (its unknown order expired unseen)."""
        await self.release(Reservation(user_id, _day(reserved_at), micro))

    async def release(self, reservation: Reservation, keep_micro: int = 0) -> None:
        """Give back what a copy reserved but did not spend (all of it, or all but `keep_micro`)."""
        back = reservation.micro - keep_micro
        if back:
            await self._coord.incr(f"spent:user:{reservation.user_id}:{reservation.day}", -back, DAY_MS)
            await self._coord.incr(f"spent:global:{reservation.day}", -back, DAY_MS)
