"""What a venue message may hold before it becomes a domain object: the rules at the edge.

A decoded wire struct only promises JSON types (``Decimal``, ``int``, ``str``). Before a fill becomes a
``Signal`` it must also be something the venue can actually send and the store can hold: finite
decimals, a price strictly inside (0, 1) (one micro-USDC at least from either end), a positive size of at most ``FillBounds.max_size`` shares (the
store keeps micro-units in ``BIGINT``: 1e9 shares = 1e15 micro, notional included, far below 2^63), a
fill time inside a window around the receipt time, a 20-byte address, a 32-byte transaction hash and
condition id, a decimal token id.

Every rule raises :class:`InvalidMessage`, a ``ValueError`` whose ``reason`` is a short code for the
``polyhunter_ingest_rejected_total{source,reason}`` counter. The checks are pure: "now" is passed in.

The errors a wire decoder (``decode_*``, ``*_DECODER.decode``) followed by its mapping to a domain object
may raise on *any* input are exactly :data:`WIRE_ERRORS`: ``msgspec.DecodeError`` (not JSON, or a body cut
off), ``msgspec.ValidationError`` (JSON of the wrong shape or type; a subclass of ``DecodeError``) and
:class:`InvalidMessage` (the right shape, values the venue cannot send). Anything else is a bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

import msgspec

MAX_SIZE_SHARES: Final = Decimal(1_000_000_000)  # 1e9 shares: 1e15 micro, fits BIGINT with notional
MIN_SIZE_SHARES: Final = Decimal("0.000001")  # one micro-share: a smaller size maps to a zero key size
MIN_PRICE: Final = Decimal("0.000001")  # one micro-USDC: a smaller price maps to a zero price_micro
MAX_PRICE: Final = 1 - MIN_PRICE
MAX_FILL_AGE_S: Final = 30 * 86_400
MAX_FILL_FUTURE_S: Final = 300
TOKEN_ID_MAX_DIGITS: Final = 78  # a uint256 in decimal
SLUG_MAX_LEN: Final = 256  # signals.slug
OUTCOME_MAX_LEN: Final = 64  # signals.outcome

# fullmatch of a compiled pattern is the fastest exact hex check found (bytes.fromhex, str.strip with the
# hex digits and set containment all cost more, and int(x, 16) accepts "_", spaces and signs)
ADDRESS_MATCH: Final = re.compile(r"0x[0-9a-fA-F]{40}").fullmatch
HASH_MATCH: Final = re.compile(r"0x[0-9a-fA-F]{64}").fullmatch
UINT256_LIMIT: Final = 2**256

# reason codes
SIZE_NOT_FINITE: Final = "size_not_finite"
SIZE_OUT_OF_RANGE: Final = "size_out_of_range"
PRICE_NOT_FINITE: Final = "price_not_finite"
PRICE_OUT_OF_RANGE: Final = "price_out_of_range"
TIMESTAMP_OUT_OF_WINDOW: Final = "timestamp_out_of_window"
BAD_ADDRESS: Final = "bad_address"
BAD_TX_HASH: Final = "bad_tx_hash"
BAD_CONDITION_ID: Final = "bad_condition_id"
BAD_TOKEN_ID: Final = "bad_token_id"  # noqa: S105 - a reason code
TEXT_TOO_LONG: Final = "text_too_long"
BAD_SIDE: Final = "bad_side"
BAD_NUMBER: Final = "bad_number"  # a decimal string that is not a finite number
SCHEMA: Final = "schema"  # the typed decode failed (msgspec.ValidationError / DecodeError)
LOG_LAYOUT: Final = "log_layout"  # a chain log without the OrderFilled layout


class InvalidMessage(ValueError):
    """A venue message outside what the venue can send; ``reason`` is a short metric label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


WIRE_ERRORS: Final = (msgspec.DecodeError, msgspec.ValidationError, InvalidMessage)


@dataclass(frozen=True, slots=True)
class FillBounds:
    """The window a fill time must fall in, relative to the receipt time, and the largest size."""

    max_age_s: int = MAX_FILL_AGE_S
    max_future_s: int = MAX_FILL_FUTURE_S
    max_size: Decimal = MAX_SIZE_SHARES


DEFAULT_BOUNDS: Final = FillBounds()


def parse_decimal(text: str, field: str) -> Decimal:
    """A decimal the wire writes as a string (``"0.57"``): finite, or :class:`InvalidMessage`."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidMessage(BAD_NUMBER, f"{field}: {text[:40]!r}") from exc
    if not value.is_finite():
        raise InvalidMessage(BAD_NUMBER, f"{field}: {text[:40]!r}")
    return value


def parse_int(text: str, field: str) -> int:
    """An integer the wire writes as a string (``"1757000000000"``), at most 20 digits."""
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise InvalidMessage(BAD_NUMBER, f"{field}: {text[:40]!r}")
    return int(text)


def check_size(size: Decimal, bounds: FillBounds = DEFAULT_BOUNDS) -> Decimal:
    """A share count: finite, at least one micro-share, at most ``bounds.max_size``."""
    if not size.is_finite():
        raise InvalidMessage(SIZE_NOT_FINITE, str(size))
    if not MIN_SIZE_SHARES <= size <= bounds.max_size:
        raise InvalidMessage(SIZE_OUT_OF_RANGE, str(size))
    return size


def check_price(price: Decimal) -> Decimal:
    """An outcome-token price in USDC: finite, strictly between 0 and 1, at least one micro-USDC away from
    both (a price of 1e-999999 is "inside (0, 1)" but sizes a copy to more shares than Decimal holds)."""
    if not price.is_finite():
        raise InvalidMessage(PRICE_NOT_FINITE, str(price))
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise InvalidMessage(PRICE_OUT_OF_RANGE, str(price))
    return price


def check_timestamp_s(ts_s: int, now_s: float, bounds: FillBounds = DEFAULT_BOUNDS) -> int:
    """Epoch seconds no older than ``max_age_s`` and no further ahead than ``max_future_s``."""
    if not now_s - bounds.max_age_s <= ts_s <= now_s + bounds.max_future_s:
        raise InvalidMessage(TIMESTAMP_OUT_OF_WINDOW, str(ts_s))
    return ts_s


def check_address(value: str) -> str:
    """``0x`` + 40 hex digits (any case); returned lower-cased."""
    if ADDRESS_MATCH(value) is None:
        raise InvalidMessage(BAD_ADDRESS, value[:80])
    return value.lower()


def check_tx_hash(value: str) -> str:
    """``0x`` + 64 hex digits; returned lower-cased."""
    if HASH_MATCH(value) is None:
        raise InvalidMessage(BAD_TX_HASH, value[:80])
    return value.lower()


def check_condition_id(value: str) -> str:
    """A CTF condition id: ``0x`` + 64 hex digits; returned lower-cased."""
    if HASH_MATCH(value) is None:
        raise InvalidMessage(BAD_CONDITION_ID, value[:80])
    return value.lower()


def check_token_id(value: str) -> str:
    """An outcome token id: a uint256 in decimal (1 to 78 digits, not zero)."""
    # 2**256 has 78 digits: a shorter id is below it without converting (this runs once per fill). An
    # ASCII string's bytes are its characters, and bytes.isdigit (ASCII only) is 4x str.isdigit (Unicode).
    if (
        not (0 < len(value) <= TOKEN_ID_MAX_DIGITS and value.isascii() and value.encode().isdigit())
        or not value.strip("0")
        or (len(value) == TOKEN_ID_MAX_DIGITS and int(value) >= UINT256_LIMIT)
    ):
        raise InvalidMessage(BAD_TOKEN_ID, value[:80])
    return value


def check_text(value: str | None, max_len: int, field: str) -> str:
    """A display string the store keeps in a bounded column."""
    text = value or ""
    if len(text) > max_len:
        raise InvalidMessage(TEXT_TOO_LONG, f"{field} has {len(text)} characters")
    return text
