"""How much to copy: sizing modes, per-trade bounds, position cap and sell mirroring.

All pure Decimal arithmetic. Sizes are shares, notionals are USDC at the leader's price (the price
the follower will pay is decided later by pricing; the cap is re-checked there).

PROPORTIONAL: shares = leader shares x follower equity / leader equity (x `sizing_value` if set).
Equity is "what the account is worth": USDC held plus open positions at their current value. For
the follower both are known (its balance, and its positions: the paper account marked at the book,
or its wallet's Data API positions). For a leader only the positions are observable (the Data API
`/positions` current value); its USDC balance is not published anywhere we can read, so the leader
side counts positions only. That makes the leader's equity a lower bound, and the ratio (and the
copy) an upper bound when the leader holds cash: the per-trade max, the position cap and the daily
caps bound it, and `sizing_value` scales it down for a leader known to keep cash. A leader with no
open positions has no observable equity: NO_EQUITY.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from polyhunter.domain.copy_config import CopyConfig, SizingMode
from polyhunter.domain.signal import Side, Signal

SHARE_STEP = Decimal("0.01")  # the venue accepts sizes with 2 decimals


class SizeSkip(StrEnum):
    ZERO_SIZE = "ZERO_SIZE"
    BELOW_MIN_TRADE = "BELOW_MIN_TRADE"
    POSITION_CAP_REACHED = "POSITION_CAP_REACHED"
    NO_POSITION_TO_SELL = "NO_POSITION_TO_SELL"
    SELL_BELOW_SHARE_STEP = "SELL_BELOW_SHARE_STEP"  # holds some, but its fraction rounds to 0 shares
    SELL_MIRRORING_OFF = "SELL_MIRRORING_OFF"
    NO_EQUITY = "NO_EQUITY"


@dataclass(frozen=True, slots=True)
class SizingContext:
    """Follower and leader state the sizing needs, read by the engine before sizing."""

    follower_position_shares: Decimal = Decimal(0)  # in the signal's token
    follower_market_notional: Decimal = Decimal(0)  # USDC already held in this market
    leader_position_before: Decimal = Decimal(0)  # leader's shares in the token before this fill
    follower_equity: Decimal = Decimal(0)
    leader_equity: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SizeDecision:
    shares: Decimal
    notional: Decimal
    skip: SizeSkip | None = None
    capped: bool = False


def floor_shares(shares: Decimal) -> Decimal:
    return shares.quantize(SHARE_STEP, rounding=ROUND_DOWN) if shares > 0 else Decimal(0)


def mirror_sell_shares(
    leader_sell: Decimal, leader_position_before: Decimal, follower_position: Decimal
) -> Decimal:
    """The follower sells the same fraction of its position as the leader sold of its own.

    A leader position we never saw (0 or less than the sell) counts as a full exit.
    """
    if follower_position <= 0 or leader_sell <= 0:
        return Decimal(0)
    if leader_position_before <= leader_sell:
        return floor_shares(follower_position)
    # Multiply before dividing so an exact fraction stays exact in Decimal.
    return min(floor_shares(follower_position * leader_sell / leader_position_before), follower_position)


def _raw_buy_shares(config: CopyConfig, signal: Signal, ctx: SizingContext) -> Decimal | SizeSkip:
    price = signal.price
    match config.sizing:
        case SizingMode.FIXED_USDC:
            return config.sizing_value / price
        case SizingMode.PERCENT_OF_LEADER:
            return signal.size * config.sizing_value / Decimal(100)
        case SizingMode.MULTIPLIER:
            return signal.size * config.sizing_value
        case SizingMode.PROPORTIONAL:
            if ctx.follower_equity <= 0 or ctx.leader_equity <= 0:
                return SizeSkip.NO_EQUITY
            scale = config.sizing_value if config.sizing_value > 0 else Decimal(1)
            return signal.size * ctx.follower_equity / ctx.leader_equity * scale
    raise ValueError(f"unknown sizing mode {config.sizing!r}")


def size_copy(config: CopyConfig, signal: Signal, ctx: SizingContext) -> SizeDecision:
    """Shares to copy for one signal under one config, or why not."""
    price = signal.price
    if price <= 0:
        return SizeDecision(Decimal(0), Decimal(0), SizeSkip.ZERO_SIZE)
    if signal.side is Side.SELL:
        if not config.mirror_sells:
            return SizeDecision(Decimal(0), Decimal(0), SizeSkip.SELL_MIRRORING_OFF)
        shares = mirror_sell_shares(signal.size, ctx.leader_position_before, ctx.follower_position_shares)
        if shares <= 0:
            # Nothing held, or a fraction of what is held that is less than the venue's share step (a
            # leader selling 5 of 1,000 shares moves a follower's 0.08 by 0.0004): different reasons.
            held = ctx.follower_position_shares > 0 and signal.size > 0
            skip = SizeSkip.SELL_BELOW_SHARE_STEP if held else SizeSkip.NO_POSITION_TO_SELL
            return SizeDecision(Decimal(0), Decimal(0), skip)
        return SizeDecision(shares, shares * price)
    raw = _raw_buy_shares(config, signal, ctx)
    if isinstance(raw, SizeSkip):
        return SizeDecision(Decimal(0), Decimal(0), raw)
    notional = raw * price
    capped = False
    if config.max_trade_usdc is not None and notional > config.max_trade_usdc:
        notional, capped = config.max_trade_usdc, True
    if config.max_position_usdc is not None:
        room = config.max_position_usdc - ctx.follower_market_notional
        if room <= 0:
            return SizeDecision(Decimal(0), Decimal(0), SizeSkip.POSITION_CAP_REACHED)
        if notional > room:
            notional, capped = room, True
    shares = floor_shares(notional / price)
    if shares <= 0:
        return SizeDecision(Decimal(0), Decimal(0), SizeSkip.ZERO_SIZE)
    notional = shares * price
    if notional < config.min_trade_usdc:
        return SizeDecision(shares, notional, SizeSkip.BELOW_MIN_TRADE)
    return SizeDecision(shares, notional, capped=capped)
