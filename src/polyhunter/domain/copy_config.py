"""A copy config: how one follower copies one leader (one immutable version of it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyhunter.domain.signal import Side

MAX_USDC = Decimal("1e9")  # any USDC amount in a config: a billion is beyond any real account
MAX_SLIPPAGE_BPS = 10_000  # 100 %
# The largest sizing_value per mode: USDC per copy, percent of the leader, x the leader's shares, and
# the scale on the equity ratio. Beyond these a copy is a typo, not a strategy.
MAX_SIZING_VALUE: dict[str, Decimal] = {
    "FIXED_USDC": MAX_USDC,
    "PERCENT_OF_LEADER": Decimal(1000),
    "PROPORTIONAL": Decimal(1000),
    "MULTIPLIER": Decimal(1000),
}


class SizingMode(StrEnum):
    FIXED_USDC = "FIXED_USDC"  # every copy spends `sizing_value` USDC
    PERCENT_OF_LEADER = "PERCENT_OF_LEADER"  # `sizing_value` percent of the leader's notional
    PROPORTIONAL = "PROPORTIONAL"  # follower equity / leader equity x leader shares
    MULTIPLIER = "MULTIPLIER"  # `sizing_value` x leader shares


class ActOn(StrEnum):
    """When a config copies a fill: on its first sighting, pending transactions included (the mempool), or
    only once a source reports it mined. Copying a pending fill is faster and risks copying a fill that
    never happens (its transaction dropped, replaced or reverted): that copy stands, and is recorded."""

    PENDING = "pending"
    CONFIRMED = "confirmed"


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
    act_on: ActOn = ActOn.CONFIRMED
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name, amount in self._bounded_amounts():
            problem = amount_problem(amount)
            if problem:
                raise ValueError(f"{name} {problem}")
        if not self.sizing_value.is_finite():
            raise ValueError("sizing_value must be a finite number")
        if self.sizing_value < 0:
            raise ValueError("sizing_value must be >= 0")
        if self.sizing is not SizingMode.PROPORTIONAL and self.sizing_value == 0:
            raise ValueError(f"{self.sizing} needs a positive sizing_value")
        if self.sizing is SizingMode.PERCENT_OF_LEADER and self.sizing_value > 1000:
            raise ValueError("PERCENT_OF_LEADER sizing_value is a percent (0-1000)")
        problem = sizing_value_problem(self.sizing, self.sizing_value)
        if problem:
            raise ValueError(f"sizing_value {problem}")
        if self.max_slippage_bps is not None and not 0 <= self.max_slippage_bps <= MAX_SLIPPAGE_BPS:
            raise ValueError(f"max_slippage_bps must be between 0 and {MAX_SLIPPAGE_BPS}")
        if self.max_trade_usdc is not None and self.max_trade_usdc < self.min_trade_usdc:
            raise ValueError("max_trade_usdc is below min_trade_usdc")
        if not (self.min_price.is_finite() and self.max_price.is_finite()) or not (
            Decimal(0) <= self.min_price <= self.max_price <= Decimal(1)
        ):
            raise ValueError("price bounds must satisfy 0 <= min_price <= max_price <= 1")

    def _bounded_amounts(self) -> list[tuple[str, Decimal]]:
        amounts = [("min_trade_usdc", self.min_trade_usdc)]
        if self.max_trade_usdc is not None:
            amounts.append(("max_trade_usdc", self.max_trade_usdc))
        if self.max_position_usdc is not None:
            amounts.append(("max_position_usdc", self.max_position_usdc))
        return amounts


def amount_problem(amount: Decimal) -> str | None:
    """Why a USDC amount of a config is refused (None: it is fine): finite, 0..MAX_USDC."""
    if not amount.is_finite():
        return "must be a finite number"
    if not Decimal(0) <= amount <= MAX_USDC:
        return f"must be between 0 and {MAX_USDC:f} USDC"
    return None


def sizing_value_problem(sizing: SizingMode, value: Decimal) -> str | None:
    """Why a sizing_value is refused for its mode (None: it is fine): finite and within its bound."""
    if not value.is_finite():
        return "must be a finite number"
    bound = MAX_SIZING_VALUE[sizing.value]
    if value > bound:
        return f"must be at most {bound:f} for {sizing.value}"
    return None
