"""The one small exception hierarchy the loops branch on (never on message text).

    PolyHunterError
    ├── RetryableError        network, HTTP 429 / 5xx, timeouts, a stalled or dropped database
    │                         connection: the same work may succeed later (bounded backoff)
    ├── OperatorNeededError   a bad config, refused auth, missing funds or allowance, a funder that is
    │                         not the key's, no wallet: retrying cannot fix it; the config is paused
    │                         with `reason` until an operator resumes it
    └── UnknownResultError    an order may or may not have reached the venue: reconcile, never resend

Adapters, executors and the store raise these (or subclasses of them) where they know the kind; the
engine decides what to do from the class alone. Any other exception is a bug: it is treated like an
operator-needed error for the one config it happened in.
"""

from __future__ import annotations


class PolyHunterError(Exception):
    """The root of PolyHunter's own errors."""


class RetryableError(PolyHunterError):
    """Transient: the same work may succeed if tried again after a pause."""


class OperatorNeededError(PolyHunterError):
    """Retrying will not help: someone must fix a config, a key, funds or an allowance.

    `reason` is a short code (e.g. `NO_WALLET`, `AUTH_REFUSED`, `SIZE_OUT_OF_RANGE`) recorded with the
    paused config and shown in status."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnknownResultError(PolyHunterError):
    """An order was possibly sent and its result is unknown: the copy stays PENDING for reconciliation."""


def pause_reason(exc: BaseException, limit: int = 250) -> str:
    """What a paused config records for `exc`: the operator-needed reason code and detail, or the
    exception's type and text for an unexpected one (a bug), bounded to `limit` characters."""
    if isinstance(exc, OperatorNeededError):
        text = f"{exc.reason}: {exc.detail}" if exc.detail else exc.reason
    else:
        text = f"INTERNAL: {type(exc).__name__}: {exc}"
    return text[:limit]
