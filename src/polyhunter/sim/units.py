"""Fixed-point units of the simulator: 6-decimal micro-units for shares, pUSD and prices.

* Shares and pUSD are integers in micro-units (1 share = 1_000_000), like the chain.
* Prices are integers in micro-dollars per share (0.53 -> 530_000). Every supported tick size
  (0.1 ... 0.0001) is a multiple of 100 micro, so a tick-aligned price is always exact.
* Matching happens in lots of 0.01 share (``LOT``): the venue truncates matched sizes to cent
  ticks. A lot-aligned size times a tick-aligned price is an exact number of micro-pUSD, so every
  transfer is an integer and conservation holds exactly.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache

MICRO = 1_000_000
LOT = 10_000  # 0.01 share in micro-shares
_DEC_MICRO = Decimal(MICRO)
_FEE_QUANTUM = 10  # fees are rounded to 5 decimals = 10 micro-pUSD


def price_to_micro(price: Decimal) -> int:
    """A tick-aligned decimal price as integer micro-dollars (exact for every tick size)."""
    return int(price * _DEC_MICRO)


def micro_to_decimal(micro: int) -> Decimal:
    """Micro-units as a Decimal with trailing zeros removed (``2650000`` -> ``Decimal('2.65')``)."""
    value = Decimal(micro) / _DEC_MICRO
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


@lru_cache(maxsize=65_536)
def price_decimal(micro: int) -> Decimal:
    """``micro_to_decimal`` for prices, cached (a market has at most 10 000 price levels)."""
    return micro_to_decimal(micro)


def fmt_micro(micro: int) -> str:
    """Human decimal string like the live API prints amounts: ``"2.65"``, ``"5"``, ``"0.001"``."""
    return format(micro_to_decimal(micro), "f")


def fmt_decimal(value: Decimal) -> str:
    """A Decimal printed without exponent and without trailing zeros."""
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def decimal_to_micro_floor(value: Decimal) -> int:
    return int((value * _DEC_MICRO).to_integral_value(ROUND_FLOOR))


def lot_floor(size: int) -> int:
    """Largest lot-aligned size not above ``size`` (the part of an order that can match)."""
    return size - size % LOT


def cost(size: int, price: int) -> int:
    """pUSD micro-units for ``size`` micro-shares at ``price`` micro-dollars (exact for lots)."""
    return size * price // MICRO


def cost_ceil(size: int, price: int) -> int:
    return -((-size * price) // MICRO)


def complement(price: int) -> int:
    """Price of the other outcome that makes a full set worth exactly 1 pUSD."""
    return MICRO - price


def fee_exact(size: int, price: int, rate: Decimal) -> Decimal:
    """Unrounded taker fee in micro-pUSD: C * rate * p * (1 - p) with C shares, p the fill price."""
    if not rate:
        return Decimal(0)
    return Decimal(size * price * (MICRO - price)) * rate / Decimal(MICRO * MICRO)


def round_fee(exact_micro: Decimal) -> int:
    """Round an exact fee (micro-pUSD) half-up to 5 decimals of pUSD."""
    quanta = (exact_micro / _FEE_QUANTUM).to_integral_value(ROUND_HALF_UP)
    return int(quanta) * _FEE_QUANTUM
