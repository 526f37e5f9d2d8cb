"""Running positions the sizing needs: the leader's (from its observed fills) and the followers' exposure."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal


class LeaderPositions:
    """Shares each leader holds per token, as far as our signals show (for sell mirroring)."""

    def __init__(self) -> None:
        self._shares: dict[tuple[str, str], Decimal] = defaultdict(Decimal)

    def seed(self, leader: str, token: str, shares: Decimal) -> None:
        self._shares[(leader, token)] = shares

    def position(self, leader: str, token: str) -> Decimal:
        return self._shares.get((leader, token), Decimal(0))

    def apply(self, signal: Signal) -> Decimal:
        """Record the fill; return the leader's position before it."""
        key = (signal.leader, signal.asset)
        before = self._shares[key]
        after = before + signal.size if signal.side is Side.BUY else max(Decimal(0), before - signal.size)
        self._shares[key] = after
        return before


class FollowerExposure:
    """USDC each follower has put into each market (condition id), for the per-market position cap."""

    def __init__(self) -> None:
        self._notional: dict[tuple[int, str], Decimal] = defaultdict(Decimal)

    def get(self, user_id: int, condition_id: str) -> Decimal:
        return self._notional.get((user_id, condition_id), Decimal(0))

    def add(self, user_id: int, condition_id: str, side: Side, notional: Decimal) -> None:
        key = (user_id, condition_id)
        delta = notional if side is Side.BUY else -notional
        self._notional[key] = max(Decimal(0), self._notional[key] + delta)
