"""Static checks of an incoming order (those that do not depend on the book or balances)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.sim import errors
from polyhunter.sim.markets import Market
from polyhunter.sim.orders import OrderRequest, OrderType
from polyhunter.sim.units import LOT, micro_to_decimal


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return tick <= price <= 1 - tick and price % tick == 0


def static_error(req: OrderRequest, market: Market, now_ms: int, duplicate: bool) -> str | None:
    """The live error string for an order that fails a book-independent rule, else ``None``."""
    if not market.accepting_orders:
        return errors.MARKET_NOT_READY
    if duplicate:
        return errors.duplicated(req.order_id)
    if req.size < LOT or not req.price.is_finite():
        return errors.INVALID_PAYLOAD
    if not on_tick(req.price, market.tick_size):
        return errors.tick_violation(req.order_id, req.price, market.tick_size)
    if req.order_type is OrderType.GTD:
        if req.expiration * 1000 <= now_ms:
            return errors.INVALID_EXPIRATION
    elif req.expiration != 0:
        return errors.INVALID_EXPIRATION
    if req.post_only and not req.order_type.can_rest:
        return errors.INVALID_PAYLOAD
    size = micro_to_decimal(req.size)
    if req.order_type.can_rest and size < market.min_order_size:
        return errors.size_below_minimum(req.order_id, size, market.min_order_size)
    return None
