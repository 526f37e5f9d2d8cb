"""When the simulator's surfaces learn of a match: the ``fast`` profile (tests) and the ``live`` one.

``live`` copies the live venue (protocol reference §2.1 and §5): a match is settled by the operator's
``matchOrders`` transaction, which waits in the mempool until the next block (Polygon: about 2 s); RTDS
publishes the fill after the block, ~0.8 s p50 / 1.4 s p99 (a log-normal fitted to those two figures); the
Data API shows it only after its indexing lag (10 s); the CLOB's trade status goes MATCHED -> MINED with the
block -> CONFIRMED a few blocks later. With a chain mirror the block time is the chain's (the simulator mines
the blocks itself); without one the block is emulated on the same 2 s grid of the wall clock.

``fast`` is what the simulator always did: MINED 0.2 s after the match with RTDS and the Data API at once,
CONFIRMED 0.6 s later, the chain mining each transaction as it arrives.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

TimingName = Literal["fast", "live"]
TIMINGS: tuple[TimingName, ...] = ("fast", "live")
_Z99 = 2.326  # the 99th percentile of the standard normal


@dataclass(frozen=True, slots=True)
class SimTiming:
    """Every delay of the profile, in seconds."""

    name: TimingName = "fast"
    block_time_s: float | None = None  # None: mined at once (anvil automine), MINED after mined_delay_s
    mined_delay_s: float = 0.2  # without blocks: match -> MINED
    confirmed_delay_s: float = 0.6  # MINED -> CONFIRMED
    rtds_p50_s: float = 0.0  # block -> RTDS frame, median
    rtds_p99_s: float = 0.0  # and 99th percentile (log-normal between the two)
    data_api_lag_s: float = 0.0  # block -> the fill is in Data API /trades and /activity
    drop_after_s: float = 0.5  # a dropped match's transaction is replaced this long after it was sent

    def __post_init__(self) -> None:
        for name in ("mined_delay_s", "confirmed_delay_s", "rtds_p50_s", "rtds_p99_s", "data_api_lag_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 3600):
                raise ValueError(f"timing {name} must be within 0..3600 s, got {value}")
        if self.block_time_s is not None and not 0.05 <= self.block_time_s <= 60:
            raise ValueError(f"timing block_time_s must be within 0.05..60 s, got {self.block_time_s}")
        if self.rtds_p99_s < self.rtds_p50_s:
            raise ValueError("timing rtds_p99_s must not be below rtds_p50_s")

    def rtds_delay(self, rng: random.Random) -> float:
        """One block -> RTDS delay: log-normal with the profile's median and 99th percentile."""
        if self.rtds_p50_s <= 0:
            return 0.0
        sigma = (
            math.log(self.rtds_p99_s / self.rtds_p50_s) / _Z99 if self.rtds_p99_s > self.rtds_p50_s else 0.0
        )
        return min(self.rtds_p50_s * math.exp(rng.gauss(0.0, sigma)), 10 * self.rtds_p99_s)

    def until_block(self, now: float | None = None) -> float:
        """Without a chain: seconds from ``now`` to the next block of the emulated grid (or mined_delay_s)."""
        if self.block_time_s is None:
            return self.mined_delay_s
        at = time.time() if now is None else now
        return self.block_time_s - (at % self.block_time_s)


FAST = SimTiming()
LIVE = SimTiming(
    name="live",
    block_time_s=2.0,
    confirmed_delay_s=6.0,  # three blocks
    rtds_p50_s=0.8,
    rtds_p99_s=1.4,
    data_api_lag_s=10.0,
)


def timing_named(name: str, **overrides: float | None) -> SimTiming:
    """The profile ``name`` (``fast`` / ``live``) with some delays overridden (None keeps the profile's)."""
    if name not in TIMINGS:
        raise ValueError(f"unknown timing {name!r} (one of {', '.join(TIMINGS)})")
    base = LIVE if name == "live" else FAST
    chosen: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    return replace(base, **chosen) if chosen else base
