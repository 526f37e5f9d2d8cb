"""A copy config: how one follower copies one leader (one immutable version of it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.signal import Side


class SizingMode(StrEnum):
    FIXED_USDC = "FIXED_USDC"  # every copy spends `sizing_value` USDC
    PERCENT_OF_LEADER = "PERCENT_OF_LEADER"  # `sizing_value` percent of the leader's notional
    PROPORTIONAL = "PROPORTIONAL"  # follower equity / leader equity x leader shares
    MULTIPLIER = "MULTIPLIER"  # `sizing_value` x leader shares


class CustodyMode(StrEnum):
    PAPER = "PAPER"
    EOA = "EOA"
    PROXY = "PROXY"


@dataclass(frozen=True, slots=True)
class MarketRef:
    """What a filter can match a market on."""

    condition_id: str
    slug: str = ""
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CopyConfig:
    id: int
    version: int
    user_id: int
    leader: str  # lower-case funder address
    sizing: SizingMode
    sizing_value: Decimal = Decimal(0)
    custody: CustodyMode = CustodyMode.PAPER
    min_trade_usdc: Decimal = Decimal(0)
    max_trade_usdc: Decimal | None = None
    max_position_usdc: Decimal | None = None  # per market (condition id)
    sides: frozenset[Side] = frozenset({Side.BUY, Side.SELL})
    allow_markets: frozenset[str] = frozenset()  # condition ids, slugs or tags; empty = all
    deny_markets: frozenset[str] = frozenset()
    min_price: Decimal = Decimal(0)
    max_price: Decimal = Decimal(1)
    mirror_sells: bool = True
    max_slippage_bps: int | None = None  # None: the engine default
    aggregate_below_minimum: bool = True
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.sizing_value < 0:
            raise ValueError("sizing_value must be >= 0")
        if self.sizing is not SizingMode.PROPORTIONAL and self.sizing_value == 0:
            raise ValueError(f"{self.sizing} needs a positive sizing_value")
        if self.sizing is SizingMode.PERCENT_OF_LEADER and self.sizing_value > 1000:
            raise ValueError("PERCENT_OF_LEADER sizing_value is a percent (0-1000)")
        if self.max_trade_usdc is not None and self.max_trade_usdc < self.min_trade_usdc:
            raise ValueError("max_trade_usdc is below min_trade_usdc")
        if not (Decimal(0) <= self.min_price <= self.max_price <= Decimal(1)):
            raise ValueError("price bounds must satisfy 0 <= min_price <= max_price <= 1")
