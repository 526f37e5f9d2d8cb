"""Binary markets of the simulator and deterministic id generation.

A ``Market`` is one condition with two outcome tokens. Token ``tokens[0]`` is the *primary* token:
the engine keeps one book per market in the primary token's price space (see ``book.py``); the
second token's book is its mirror image (BUY NO at q == offer of YES at 1 - q), which is how the
live venue shows the two books of a market.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal

from polyhunter.sim.errors import SimError

TICK_SIZES: tuple[Decimal, ...] = tuple(
    Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")
)
DEFAULT_MIN_ORDER_SIZE = Decimal(5)


@dataclass(frozen=True, slots=True)
class Market:
    condition_id: str
    tokens: tuple[str, str]
    outcomes: tuple[str, str] = ("Yes", "No")
    question: str = ""
    slug: str = ""
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = DEFAULT_MIN_ORDER_SIZE
    neg_risk: bool = False
    active: bool = True
    closed: bool = False
    taker_fee_rate: Decimal = Decimal(0)
    match_delay_ms: int = 0  # > 0: marketable orders wait this long ("delayed"), like sports markets
    winning_token: str | None = None

    def __post_init__(self) -> None:
        if self.tick_size not in TICK_SIZES:
            raise SimError(f"unsupported tick size {self.tick_size}")
        if self.tokens[0] == self.tokens[1]:
            raise SimError("the two outcome tokens must differ")
        if self.min_order_size < 0 or not 0 <= self.taker_fee_rate <= 1 or self.match_delay_ms < 0:
            raise SimError("min_order_size and match_delay_ms must be >= 0, taker_fee_rate within [0, 1]")

    @property
    def accepting_orders(self) -> bool:
        return self.active and not self.closed

    def outcome_of(self, token_id: str) -> str:
        return self.outcomes[self.index_of(token_id)]

    def index_of(self, token_id: str) -> int:
        if token_id == self.tokens[0]:
            return 0
        if token_id == self.tokens[1]:
            return 1
        raise SimError(f"token {token_id} is not in market {self.condition_id}")

    def other(self, token_id: str) -> str:
        return self.tokens[1 - self.index_of(token_id)]

    def with_changes(self, **changes: object) -> Market:
        return replace(self, **changes)  # type: ignore[arg-type]


def _digest(seed: str, *parts: object) -> bytes:
    raw = "|".join([seed, *(str(p) for p in parts)])
    return hashlib.sha256(raw.encode()).digest()


def condition_id_for(seed: str, index: int) -> str:
    """``0x`` + 64 hex, a pure function of (seed, index)."""
    return "0x" + _digest(seed, "condition", index).hex()


def token_id_for(seed: str, index: int, outcome_index: int) -> str:
    """A decimal string below 2**256, like the live ERC-1155 position ids (usually 76-77 digits)."""
    return str(int.from_bytes(_digest(seed, "token", index, outcome_index), "big"))


def make_market(
    seed: str,
    index: int,
    *,
    question: str = "",
    slug: str = "",
    outcomes: tuple[str, str] = ("Yes", "No"),
    tick_size: Decimal = Decimal("0.01"),
    min_order_size: Decimal = DEFAULT_MIN_ORDER_SIZE,
    neg_risk: bool = False,
    taker_fee_rate: Decimal = Decimal(0),
    match_delay_ms: int = 0,
) -> Market:
    """A market whose condition id and token ids depend only on ``seed`` and ``index``."""
    return Market(
        condition_id=condition_id_for(seed, index),
        tokens=(token_id_for(seed, index, 0), token_id_for(seed, index, 1)),
        outcomes=outcomes,
        question=question or f"Simulated market {index}?",
        slug=slug or f"sim-market-{index}",
        tick_size=tick_size,
        min_order_size=min_order_size,
        neg_risk=neg_risk,
        taker_fee_rate=taker_fee_rate,
        match_delay_ms=match_delay_ms,
    )
