"""Copies worth less than the venue minimum, parked per (config, token, side) until together they reach
it within the aggregation window; then the copy that completed the bucket executes for all of them.

A parked copy stays PENDING (held by this process, so the sweeper leaves it alone). When its bucket is
released, the other copies in it end SKIPPED (`AGGREGATED_INTO_<id>`, or the reason the aggregate was
refused); when the window passes first, they end SKIPPED as BELOW_VENUE_MINIMUM. Copies whose outcome
is decided here are kept in the engine's in-flight set until the signal's outcomes are written (the
sweeper would otherwise see an unheld PENDING row past its TTL and expire it first).
"""

from __future__ import annotations

import time
from decimal import Decimal

from polyhunter.domain.aggregation import Aggregator, Released
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_records import CopyWork, EngineStats
from polyhunter.ports.store import Outcome

SKIPPED = CopyTradeState.SKIPPED
BELOW_MINIMUM = "BELOW_VENUE_MINIMUM"


class Parking:
    def __init__(self, window_ms: int, in_flight: set[int], stats: EngineStats) -> None:
        self.aggregator = Aggregator(window_ms)
        self.parked: set[int] = set()
        self._in_flight = in_flight
        self._stats = stats

    def park(self, work: CopyWork, shares: Decimal, notional: Decimal, minimum: Decimal) -> Released | None:
        """Add the copy to its bucket; the released bucket once it reaches `minimum` (this copy last)."""
        cfg, signal = work.stored.config, work.signal
        now_ms = int(time.time() * 1000)
        # Close buckets whose window passed first, so `add` never silently replaces one still holding copies.
        closed = self.expired(now_ms)
        self._in_flight.update(o.copy_trade_id for o in closed)
        work.outcomes.extend(closed)
        released = self.aggregator.add(
            (cfg.id, signal.asset, signal.side), str(work.trade_id), shares, notional, minimum, now_ms
        )
        if released is None:
            self.parked.add(work.trade_id)
            return None
        for trade_id in self.others(released):
            self._in_flight.add(trade_id)
            self.parked.discard(trade_id)
        return released

    @staticmethod
    def others(released: Released) -> list[int]:
        """The parked copies the releasing copy (the last one) executes for."""
        return [int(key) for key in released.signal_keys[:-1]]

    def close(self, work: CopyWork, released: Released, reason: str) -> None:
        """The released bucket's other copies end SKIPPED with `reason`."""
        for trade_id in self.others(released):
            work.outcomes.append(Outcome(trade_id, SKIPPED, reason=reason))
            self._stats.copies[f"{SKIPPED}:{reason.split('_INTO_')[0]}"] += 1

    def expired(self, now_ms: int, *, everything: bool = False) -> list[Outcome]:
        """Buckets whose window passed below the minimum (all of them at shutdown): SKIPPED outcomes."""
        outcomes = []
        for _key, bucket in self.aggregator.expire(now_ms, everything=everything):
            for key in bucket.signal_keys:
                self.parked.discard(int(key))
                outcomes.append(Outcome(int(key), SKIPPED, reason=BELOW_MINIMUM))
                self._stats.copies[f"{SKIPPED}:{BELOW_MINIMUM}"] += 1
        return outcomes
