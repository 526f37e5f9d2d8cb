"""From a signed order's ``makerAmount``/``takerAmount`` to the engine's limit price and size."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.errors import SimError

_SIX = Decimal("0.000001")


def order_terms_from_amounts(
    side: Side, maker_amount: int, taker_amount: int, tick: Decimal
) -> tuple[Decimal, int]:
    """(limit price, size in micro-shares) of a signed order.

    BUY gives ``maker_amount`` pUSD for ``taker_amount`` shares; SELL gives ``maker_amount`` shares
    for ``taker_amount`` pUSD. The SDKs round amounts (§3.5), so the implied price of a market order
    is a hair off its tick (10 / 18.8679 = 0.5300007): an implied price within 1/100 of a tick of a
    tick multiple is snapped to it; anything further off is returned as is (to 6 decimals) so the
    engine rejects it with the live tick-size error.
    """
    if maker_amount <= 0 or taker_amount <= 0:
        raise SimError("order amounts must be positive")
    usdc, shares = (maker_amount, taker_amount) if side is Side.BUY else (taker_amount, maker_amount)
    implied = Decimal(usdc) / Decimal(shares)
    snapped = (implied / tick).to_integral_value(ROUND_HALF_UP) * tick
    if abs(implied - snapped) * 100 < tick:
        return snapped.quantize(tick), shares
    return implied.quantize(_SIX, ROUND_HALF_UP), shares
