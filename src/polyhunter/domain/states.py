"""Lifecycle states of copy trades, orders and guardrail decisions: domain ideas, stored as strings."""

from __future__ import annotations

from enum import StrEnum


class CopyTradeState(StrEnum):
    PENDING = "PENDING"
    EXECUTED = "EXECUTED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    SETTLEMENT_PENDING = "SETTLEMENT_PENDING"
    EXPIRED = "EXPIRED"


TERMINAL_STATES: frozenset[CopyTradeState] = frozenset(
    {CopyTradeState.EXECUTED, CopyTradeState.SKIPPED, CopyTradeState.FAILED, CopyTradeState.EXPIRED}
)
# States whose requested notional counts against daily caps: money that is, or may be, spent.
SPENDING_STATES: frozenset[CopyTradeState] = frozenset(
    {CopyTradeState.PENDING, CopyTradeState.EXECUTED, CopyTradeState.SETTLEMENT_PENDING}
)


class GuardrailDecision(StrEnum):
    ALLOW = "ALLOW"
    VETO = "VETO"


class OrderStatus(StrEnum):
    """What we know of one order sent for a copy (the orders table's status)."""

    SUBMITTING = "SUBMITTING"  # written before the request is sent
    LIVE = "LIVE"
    MATCHED = "MATCHED"
    DELAYED = "DELAYED"
    UNMATCHED = "UNMATCHED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # submit result unknown: to be reconciled against the venue
