"""Guardrail rules: each can veto a copy before anything is sent. Pure; the engine supplies the counters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class GuardrailRule(StrEnum):
    KILL_SWITCH = "KILL_SWITCH"  # the platform is halted (`polyhunter switches --halt`)
    DRY_RUN = "DRY_RUN"
    CIRCUIT_BREAKER = "CIRCUIT_BREAKER"
    PER_TRADE_MAX = "PER_TRADE_MAX"
    USER_DAILY_CAP = "USER_DAILY_CAP"
    GLOBAL_DAILY_CAP = "GLOBAL_DAILY_CAP"
    COUNTERS_UNAVAILABLE = "COUNTERS_UNAVAILABLE"  # the daily spend could not be read: never guess


@dataclass(frozen=True, slots=True)
class GuardrailLimits:
    max_trade_usdc: Decimal
    daily_user_cap_usdc: Decimal
    global_daily_cap_usdc: Decimal
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class GuardrailInput:
    notional: Decimal
    user_spent_today: Decimal
    global_spent_today: Decimal
    breaker_open: bool


@dataclass(frozen=True, slots=True)
class Veto:
    rule: GuardrailRule
    detail: str


def check_guardrails(limits: GuardrailLimits, inp: GuardrailInput) -> Veto | None:
    """The first rule that vetoes, in a fixed order (cheapest and most global first)."""
    if limits.dry_run:
        return Veto(GuardrailRule.DRY_RUN, "dry run: nothing is sent")
    if inp.breaker_open:
        return Veto(GuardrailRule.CIRCUIT_BREAKER, "circuit breaker open after consecutive failures")
    if inp.notional > limits.max_trade_usdc:
        return Veto(
            GuardrailRule.PER_TRADE_MAX, f"notional {inp.notional} > per-trade max {limits.max_trade_usdc}"
        )
    if inp.user_spent_today + inp.notional > limits.daily_user_cap_usdc:
        return Veto(
            GuardrailRule.USER_DAILY_CAP,
            f"user daily {inp.user_spent_today} + {inp.notional} > cap {limits.daily_user_cap_usdc}",
        )
    if inp.global_spent_today + inp.notional > limits.global_daily_cap_usdc:
        return Veto(
            GuardrailRule.GLOBAL_DAILY_CAP,
            f"global daily {inp.global_spent_today} + {inp.notional} > cap {limits.global_daily_cap_usdc}",
        )
    return None


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; closes again after `cooldown_ms` (half-open: one try)."""

    __slots__ = ("_cooldown_ms", "_failures", "_opened_at_ms", "_threshold")

    def __init__(self, threshold: int, cooldown_ms: int) -> None:
        if threshold < 1:
            raise ValueError("threshold must be >= 1")
        self._threshold = threshold
        self._cooldown_ms = cooldown_ms
        self._failures = 0
        self._opened_at_ms: int | None = None

    def is_open(self, now_ms: int) -> bool:
        if self._opened_at_ms is None:
            return False
        if now_ms - self._opened_at_ms >= self._cooldown_ms:
            # Half-open: allow one attempt; a failure re-opens at once.
            self._opened_at_ms = None
            self._failures = self._threshold - 1
            return False
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at_ms = None

    def record_failure(self, now_ms: int) -> bool:
        """Count a failure; True when this one opened the breaker."""
        self._failures += 1
        if self._failures >= self._threshold and self._opened_at_ms is None:
            self._opened_at_ms = now_ms
            return True
        return False

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def opened_at_ms(self) -> int | None:
        return self._opened_at_ms

    def restore(self, failures: int, opened_at_ms: int | None) -> None:
        """Take the state another process left (shared breakers: engine/breakers.py)."""
        self._failures = max(0, failures)
        self._opened_at_ms = opened_at_ms
        if opened_at_ms is not None:
            self._failures = max(self._failures, self._threshold)
