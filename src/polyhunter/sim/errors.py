"""Rejection strings of the live CLOB (polymarket-protocol.md §3.4), produced verbatim.

A rejected order is not an exception: ``SimExchange.submit`` returns a ``SubmitResult`` whose ``error``
holds one of these strings, exactly as the live venue puts it in ``{"error": ...}``.
``SimError`` is raised only for misuse of the engine API itself (unknown market, bad arguments).
"""

from __future__ import annotations

from decimal import Decimal

from polyhunter.sim.units import fmt_decimal

INVALID_PAYLOAD = "Invalid order payload"
POST_ONLY_CROSSES = "invalid post-only order: order crosses book"
NOT_ENOUGH_BALANCE = "not enough balance / allowance"
INVALID_EXPIRATION = "invalid expiration"
FOK_NOT_FILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NO_MATCH = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
)
MARKET_NOT_READY = "the market is not yet ready to process new orders"
ORDER_NOT_FOUND = "order not found"
ALREADY_DONE = "already canceled or matched"


def tick_violation(order_id: str, price: Decimal, tick: Decimal) -> str:
    return (
        f"order {order_id} is invalid. Price ({fmt_decimal(price)}) breaks minimum tick size rule: "
        f"{fmt_decimal(tick)}"
    )


def size_below_minimum(order_id: str, size: Decimal, minimum: Decimal) -> str:
    return f"order {order_id} is invalid. Size ({fmt_decimal(size)}) lower than the minimum: {fmt_decimal(minimum)}"


def duplicated(order_id: str) -> str:
    return f"order {order_id} is invalid. Duplicated."


def marketable_buy_too_small(notional: Decimal) -> str:
    return f"invalid amount for a marketable BUY order (${fmt_decimal(notional)}), min size: $1"


class SimError(Exception):
    """Misuse of the engine API (unknown market or token, invalid arguments): a programming error."""
