"""Random simulator-like matches for the chain tests, and the leader fills they must produce."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.domain.signal import Side, signal_key
from polyhunter.sim.chain_mirror import MirrorLeg, MirrorMatch

TOKENS = [
    "71321045679252212594626385532706912750332728571942532289631379312455583992563",
    "52114319501245915516055106046884209969926127482827954674443846427813813222426",
]


def address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def order_hash(rng: random.Random) -> str:
    return "0x" + rng.randbytes(32).hex()


def _amounts(rng: random.Random, side: Side) -> tuple[int, int, int]:
    """(maker amount, taker amount, shares) of one leg at a price on a 0.01 tick."""
    shares = rng.randint(1, 5_000) * 10_000  # 0.01 share steps
    usdc = shares * rng.randint(1, 99) // 100
    return (usdc, shares, shares) if side is Side.BUY else (shares, usdc, shares)


def random_match(rng: random.Random, leaders: list[str], others: list[str]) -> MirrorMatch:
    token = rng.choice(TOKENS)
    taker_side = rng.choice([Side.BUY, Side.SELL])
    maker_side = Side.SELL if taker_side is Side.BUY else Side.BUY
    pool = leaders + others
    legs = []
    for _ in range(rng.randint(1, 4)):
        making, taking, _ = _amounts(rng, maker_side)
        legs.append(MirrorLeg(order_hash(rng), rng.choice(pool), maker_side, token, making, taking))
    # the taker receives what the makers give, and gives what they receive
    taker_making = sum(leg.taker_amount_filled for leg in legs)
    taker_taking = sum(leg.maker_amount_filled for leg in legs)
    return MirrorMatch(order_hash(rng), rng.choice(pool), taker_side, token, taker_making, taker_taking, legs)


@dataclass(frozen=True)
class ExpectedFill:
    key: str
    leader: str
    asset: str
    side: Side
    size: Decimal
    price: Decimal


def expected_fills(match: MirrorMatch, tx_hash: str, leaders: set[str]) -> list[ExpectedFill]:
    """Leader fills of a match, computed from the match itself (not from logs): maker legs, then taker leg."""
    rows: list[tuple[str, Side, str, int, int]] = []  # leader, side, token, shares, usdc
    for leg in match.maker_legs:
        shares, usdc = (
            (leg.taker_amount_filled, leg.maker_amount_filled)
            if leg.side is Side.BUY
            else (leg.maker_amount_filled, leg.taker_amount_filled)
        )
        rows.append((leg.maker, leg.side, str(leg.token_id), shares, usdc))
    t_shares, t_usdc = (
        (match.taker_taker_amount_filled, match.taker_maker_amount_filled)
        if match.taker_side is Side.BUY
        else (match.taker_maker_amount_filled, match.taker_taker_amount_filled)
    )
    rows.append((match.taker, match.taker_side, str(match.token_id), t_shares, t_usdc))
    out: list[ExpectedFill] = []
    seen: dict[tuple[str, Side, str, int], int] = {}
    for leader, side, token, shares, usdc in rows:
        if leader not in leaders:
            continue
        ident = (leader, side, token, shares)
        ordinal = seen.get(ident, 0)
        seen[ident] = ordinal + 1
        key = signal_key(tx_hash, leader, token, side, shares, ordinal)
        out.append(
            ExpectedFill(
                key, leader, token, side, Decimal(shares) / 1_000_000, Decimal(usdc) / Decimal(shares)
            )
        )
    return out
