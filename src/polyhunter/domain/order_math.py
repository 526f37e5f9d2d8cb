"""CLOB price/size rounding and order amounts, in Decimal, reproducing py_clob_client_v2 1.2.1.

``ROUNDING_CONFIG[tick] = (price decimals, size decimals, amount decimals)``. A limit order of ``size``
shares at ``price`` and a market order of ``amount`` (USDC for BUY, shares for SELL) become the signed
integer micro-unit ``makerAmount``/``takerAmount``:

* BUY: the maker gives collateral and takes shares; SELL: the maker gives shares and takes collateral.
* The price is rounded to the tick's price decimals (half-even for limit orders, down for V2 market
  orders); the size to 2 decimals (down); the computed side is reduced to the tick's amount decimals
  by first rounding up at ``amount + 4`` decimals and, if still longer, down at ``amount`` decimals.

The SDK does this in binary floats; the extra ``amount + 4`` round-up step exists to wash out float noise,
so exact Decimal arithmetic gives the same integers for every on-tick price and any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

from polyhunter.domain.signal import Side

__all__ = [
    "ROUNDING_CONFIG",
    "TICK_SIZES",
    "InvalidPriceError",
    "OrderAmounts",
    "RoundConfig",
    "decimal_places",
    "get_market_order_amounts",
    "get_order_amounts",
    "is_valid_price",
    "parse_tick_size",
    "round_config",
    "round_down",
    "round_normal",
    "round_up",
    "tick_allowed",
    "to_token_decimals",
    "validate_price",
]

_ONE = Decimal(1)
_MICRO = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class RoundConfig:
    price: int
    size: int
    amount: int


ROUNDING_CONFIG: dict[Decimal, RoundConfig] = {
    Decimal("0.1"): RoundConfig(price=1, size=2, amount=3),
    Decimal("0.01"): RoundConfig(price=2, size=2, amount=4),
    Decimal("0.005"): RoundConfig(price=3, size=2, amount=5),
    Decimal("0.0025"): RoundConfig(price=4, size=2, amount=6),
    Decimal("0.001"): RoundConfig(price=3, size=2, amount=5),
    Decimal("0.0001"): RoundConfig(price=4, size=2, amount=6),
}
TICK_SIZES: tuple[Decimal, ...] = tuple(ROUNDING_CONFIG)


class InvalidPriceError(ValueError):
    """A price outside ``[tick, 1 - tick]`` or off the tick grid, or an unknown tick size."""


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    side: Side
    maker_amount: int  # micro-units: collateral for BUY, shares for SELL
    taker_amount: int  # micro-units: shares for BUY, collateral for SELL


def parse_tick_size(tick: Decimal | str) -> Decimal:
    """The canonical tick size (``"0.010"`` and ``Decimal("0.01")`` are the same tick)."""
    value = Decimal(tick) if isinstance(tick, str) else tick
    for known in TICK_SIZES:
        if value == known:
            return known
    raise InvalidPriceError(f"unknown tick size {tick}")


def round_config(tick: Decimal | str) -> RoundConfig:
    return ROUNDING_CONFIG[parse_tick_size(tick)]


def _quantum(digits: int) -> Decimal:
    return Decimal(1).scaleb(-digits)


def _quantize(x: Decimal, digits: int, rounding: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = max(60, x.adjusted() + digits + 2)
        return x.quantize(_quantum(digits), rounding=rounding)


def round_down(x: Decimal, digits: int) -> Decimal:
    """Floor to ``digits`` decimals (toward minus infinity, like ``math.floor``)."""
    return _quantize(x, digits, ROUND_FLOOR)


def round_up(x: Decimal, digits: int) -> Decimal:
    """Ceiling to ``digits`` decimals."""
    return _quantize(x, digits, ROUND_CEILING)


def round_normal(x: Decimal, digits: int) -> Decimal:
    """Round half to even at ``digits`` decimals (Python's ``round``)."""
    return _quantize(x, digits, ROUND_HALF_EVEN)


def decimal_places(x: Decimal) -> int:
    """Number of significant decimal places (trailing zeros do not count)."""
    if not x.is_finite():
        raise ValueError(f"not a finite number: {x}")
    exponent = x.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_token_decimals(x: Decimal) -> int:
    """Human units to integer micro-units (rounded half-even only if there is a fraction left)."""
    return int(round_normal(x * _MICRO, 0))


def is_valid_price(price: Decimal, tick: Decimal | str) -> bool:
    """``tick <= price <= 1 - tick`` and ``price`` is a whole number of ticks."""
    t = parse_tick_size(tick)
    return t <= price <= _ONE - t and price % t == 0


def validate_price(price: Decimal, tick: Decimal | str) -> None:
    t = parse_tick_size(tick)
    if not t <= price <= _ONE - t:
        raise InvalidPriceError(f"price ({price}) outside [{t}, {_ONE - t}]")
    if price % t != 0:
        raise InvalidPriceError(f"price ({price}) breaks minimum tick size rule: {t}")


def tick_allowed(requested: Decimal | str, market_tick: Decimal | str) -> bool:
    """An order may use a tick no finer than the market's (``requested >= market``)."""
    return parse_tick_size(requested) >= parse_tick_size(market_tick)


def _fit_amount(raw: Decimal, amount_decimals: int) -> Decimal:
    if decimal_places(raw) > amount_decimals:
        raw = round_up(raw, amount_decimals + 4)
        if decimal_places(raw) > amount_decimals:
            raw = round_down(raw, amount_decimals)
    return raw


def get_order_amounts(side: Side, size: Decimal, price: Decimal, tick: Decimal | str) -> OrderAmounts:
    """Amounts of a limit order of ``size`` shares at ``price``."""
    cfg = round_config(tick)
    p = round_normal(price, cfg.price)
    shares = round_down(size, cfg.size)
    collateral = _fit_amount(shares * p, cfg.amount)
    if side == Side.BUY:
        return OrderAmounts(Side.BUY, to_token_decimals(collateral), to_token_decimals(shares))
    if side == Side.SELL:
        return OrderAmounts(Side.SELL, to_token_decimals(shares), to_token_decimals(collateral))
    raise ValueError(f"side must be BUY or SELL, got {side!r}")


def get_market_order_amounts(
    side: Side, amount: Decimal, price: Decimal, tick: Decimal | str
) -> OrderAmounts:
    """Amounts of a V2 market order: ``amount`` is USDC for BUY, shares for SELL; ``price`` is the worst
    acceptable price (rounded down to the tick's price decimals, as V2 does)."""
    cfg = round_config(tick)
    p = round_down(price, cfg.price)
    maker = round_down(amount, cfg.size)
    if side == Side.BUY:
        if p <= 0:
            raise InvalidPriceError(f"market BUY needs a positive price, got {price}")
        with localcontext() as ctx:
            ctx.prec = 28  # the quotient is only used to amount + 4 decimals
            taker = maker / p
        return OrderAmounts(
            Side.BUY, to_token_decimals(maker), to_token_decimals(_fit_amount(taker, cfg.amount))
        )
    if side == Side.SELL:
        taker = _fit_amount(maker * p, cfg.amount)
        return OrderAmounts(Side.SELL, to_token_decimals(maker), to_token_decimals(taker))
    raise ValueError(f"side must be BUY or SELL, got {side!r}")


def market_buy_spend(shares: Decimal, price: Decimal) -> Decimal:
    """The USDC a market (FOK/FAK) BUY of ``shares`` at worst price ``price`` offers: cents, rounded down."""
    return round_down(shares * price, 2)


def market_buy_notional(shares: Decimal, price: Decimal, tick: Decimal | str) -> Decimal:
    """What the venue counts against its $1 marketable-BUY minimum for that order: the shares the spend
    buys (the signed taker amount, in whole lots of 0.01 share, which is what can match) at the order's
    price. Under the spend: an order spending exactly $1.00 at 0.43 buys 2.3255 shares, 2.32 in lots,
    and counts as $0.9976 (refused)."""
    spend = market_buy_spend(shares, price)
    if spend <= 0 or price <= 0:
        return Decimal(0)
    amounts = get_market_order_amounts(Side.BUY, spend, price, tick)
    lots = round_down(Decimal(amounts.taker_amount) / _MICRO, 2)
    return lots * round_down(price, round_config(tick).price)
