"""What the CLOB's order errors say, and which of them mean "killed, nothing filled".

The venue kills a FOK that cannot be filled in full, and a FAK that finds nothing to match, with an
error text (in the POST's error body, its ``errorMsg``, or an order status ``CANCELED_<text>``); the
executors turn an answer carrying one of these texts into ``ExecStatus.KILLED``, so nothing past the
adapter reads venue text. The paper executor answers with the same texts the venue would.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NO_MATCH = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
)
NO_BALANCE = "not enough balance / allowance"
# The order was signed for another exchange version than the venue now serves (`GET /version`): it was
# refused, nothing placed; the official clients re-read the version and sign again.
ORDER_VERSION_MISMATCH = "order_version_mismatch"

# What the kill texts have in common across the error body, errorMsg and CANCELED_ order statuses.
KILLED_UNFILLED = ("FOK orders are fully filled or killed", "FAK orders are partially filled or killed")


def is_killed_unfilled(message: str) -> bool:
    """Whether the venue's error text says it killed a FOK/FAK order with nothing filled."""
    return any(marker in message for marker in KILLED_UNFILLED)


def is_version_mismatch(status: int | None, message: str) -> bool:
    """Whether the venue refused an order as signed for another exchange version (HTTP 400)."""
    return status in (None, 400) and ORDER_VERSION_MISMATCH in message


# The market takes no orders (closed, resolved, or not yet open): nothing was placed.
MARKET_NOT_READY = "the market is not yet ready to process new orders"
_TICK_RULE = re.compile(r"breaks minimum tick size rule: ([0-9]*\.?[0-9]+)")


def is_market_closed(message: str) -> bool:
    """Whether the venue refused the order because the market takes no orders."""
    return MARKET_NOT_READY in message


def tick_of_violation(message: str) -> Decimal | None:
    """The market's tick named by the venue's "breaks minimum tick size rule: <tick>", else None."""
    found = _TICK_RULE.search(message)
    if found is None:
        return None
    try:
        tick = Decimal(found.group(1))
    except InvalidOperation:
        return None
    return tick if 0 < tick < 1 else None
