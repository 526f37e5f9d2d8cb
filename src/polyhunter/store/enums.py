"""Enumerations only the store knows, as string enums (stored as VARCHAR with a CHECK constraint).

Domain enums (``Side``, ``SourceKind``, ``SizingMode``, ``CustodyMode``) are imported from the domain.
"""

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


class WalletKind(StrEnum):
    EOA = "EOA"  # a follower's own key signs orders
    FLEET = "FLEET"  # platform hot wallet placing orders for proxy users
    PROXY = "PROXY"  # a per-user proxy contract: holds funds, no key
    PAPER = "PAPER"  # simulated wallet for paper trading: no key, nothing sent


class GuardrailDecision(StrEnum):
    ALLOW = "ALLOW"
    VETO = "VETO"


class OrderType(StrEnum):
    FOK = "FOK"
    FAK = "FAK"
    GTC = "GTC"
    GTD = "GTD"


class OrderStatus(StrEnum):
    SUBMITTING = "SUBMITTING"  # written before the request is sent
    LIVE = "LIVE"
    MATCHED = "MATCHED"
    DELAYED = "DELAYED"
    UNMATCHED = "UNMATCHED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # submit result unknown: to be reconciled against the venue


class ReimbursementStatus(StrEnum):
    OWED = "OWED"
    SUBMITTED = "SUBMITTED"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


class DebtStatus(StrEnum):
    OPEN = "OPEN"
    RECOVERED = "RECOVERED"
    WRITTEN_OFF = "WRITTEN_OFF"
