"""Limit and market orders from human terms (shares, USDC, price, tick), built like py_clob_client_v2.

``limit_order``/``market_order`` turn a side, size (or amount) and price into the unsigned V2/V3
:class:`~polyhunter.adapters.polymarket.order_signer.Order` that ``OrderBuilder.build_order`` /
``build_market_order`` would produce, with exact Decimal amount math (:mod:`polyhunter.domain.order_math`).
Prices are checked before anything is built: limit prices must lie in ``[tick, 1 - tick]`` on the tick
grid (the venue rejects off-grid prices); market prices (the worst acceptable level from the book) must
lie in ``[tick, 1 - tick]`` as the SDK requires.
"""

from __future__ import annotations

from decimal import Decimal

from polyhunter.adapters.polymarket.order_signer import BYTES32_ZERO, Order, OrderSigner, SignatureType
from polyhunter.domain.order_math import (
    InvalidPriceError,
    get_market_order_amounts,
    get_order_amounts,
    parse_tick_size,
    validate_price,
)
from polyhunter.domain.signal import Side

__all__ = ["limit_order", "market_order"]


def limit_order(
    signer: OrderSigner,
    *,
    token_id: int,
    side: Side,
    size: Decimal,
    price: Decimal,
    tick: Decimal | str,
    funder: str | None = None,
    signature_type: SignatureType = SignatureType.EOA,
    expiration: int = 0,
    metadata: str = BYTES32_ZERO,
    builder: str = BYTES32_ZERO,
    salt: int | None = None,
    timestamp_ms: int | None = None,
) -> Order:
    """A limit (GTC/GTD) order of ``size`` shares at ``price``; ``expiration`` is unix seconds (GTD) or 0."""
    validate_price(price, tick)
    amounts = get_order_amounts(side, size, price, tick)
    if amounts.maker_amount <= 0 or amounts.taker_amount <= 0:
        raise ValueError(f"size {size} at {price} rounds to an empty order")
    return signer.build(
        maker=funder,
        token_id=token_id,
        maker_amount=amounts.maker_amount,
        taker_amount=amounts.taker_amount,
        side=side,
        signature_type=signature_type,
        metadata=metadata,
        builder=builder,
        expiration=expiration,
        salt=salt,
        timestamp_ms=timestamp_ms,
    )


def market_order(
    signer: OrderSigner,
    *,
    token_id: int,
    side: Side,
    amount: Decimal,
    price: Decimal,
    tick: Decimal | str,
    funder: str | None = None,
    signature_type: SignatureType = SignatureType.EOA,
    metadata: str = BYTES32_ZERO,
    builder: str = BYTES32_ZERO,
    salt: int | None = None,
    timestamp_ms: int | None = None,
) -> Order:
    """A market (FOK/FAK) order: ``amount`` USDC to spend (BUY) or shares to sell (SELL), ``price`` the
    worst acceptable price. Signed with expiration 0, as the SDK does."""
    t = parse_tick_size(tick)
    if not t <= price <= 1 - t:
        raise InvalidPriceError(f"invalid price ({price}), min: {t} - max: {1 - t}")
    amounts = get_market_order_amounts(side, amount, price, t)
    if amounts.maker_amount <= 0 or amounts.taker_amount <= 0:
        raise ValueError(f"amount {amount} at {price} rounds to an empty order")
    return signer.build(
        maker=funder,
        token_id=token_id,
        maker_amount=amounts.maker_amount,
        taker_amount=amounts.taker_amount,
        side=side,
        signature_type=signature_type,
        metadata=metadata,
        builder=builder,
        expiration=0,
        salt=salt,
        timestamp_ms=timestamp_ms,
    )
