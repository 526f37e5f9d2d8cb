"""Enumerations only the store knows, as string enums (stored as VARCHAR with a CHECK constraint).

Domain enums (``Side``, ``SourceKind``, ``SizingMode``, ``CustodyMode``, copy trade and order states in
``polyhunter.domain.states``, ``OrderType`` in ``polyhunter.domain.orders``) are imported from the domain.
"""

from __future__ import annotations

from enum import StrEnum


class WalletKind(StrEnum):
    EOA = "EOA"  # a follower's own key signs orders
    FLEET = "FLEET"  # platform hot wallet placing orders for proxy users
    PROXY = "PROXY"  # a per-user proxy contract: holds funds, no key
    PAPER = "PAPER"  # simulated wallet for paper trading: no key, nothing sent


class ReimbursementStatus(StrEnum):
    OWED = "OWED"
    SUBMITTED = "SUBMITTED"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


class DebtStatus(StrEnum):
    OPEN = "OPEN"
    RECOVERED = "RECOVERED"
    WRITTEN_OFF = "WRITTEN_OFF"


class SettlementStatus(StrEnum):
    """One copy's settlement between a fleet worker and a proxy (the settlement queue)."""

    QUEUED = "QUEUED"  # waiting for a flush (or its next retry)
    SUBMITTED = "SUBMITTED"  # in a transaction sent (its hash kept); confirmed or retried after a restart
    SETTLED = "SETTLED"  # the executor's Settled event confirmed on chain
