"""Start each config's per-market exposure and its shares per token from the store when a supervisor
starts.

Exposure is kept in memory while running; without this a restart would forget what each config put
into each market and its `max_position_usdc` cap would start again from zero, and sell mirroring what
each config holds. It counts as the engine counts it: the filled notional (filled size x fill price)
and the filled shares of EXECUTED copies, BUYs added and SELLs taken off, per config and market (the
condition id of the copy's signal) or token, never below zero (`CopyStore.executed_totals`).
(The running count clamps at zero after every fill; the seed clamps the net total once, which can
only differ after a SELL of shares the config did not buy itself.)
"""

from __future__ import annotations

from collections.abc import Collection

from polyhunter.engine.positions import FollowerExposure
from polyhunter.ports.store import CopyStore


async def seed_exposure(
    exposure: FollowerExposure, store: CopyStore, users: Collection[int] | None = None
) -> None:
    """`users`: only these followers' configs (a partition taken by a cluster worker); None: all."""
    totals = await store.executed_totals(users)
    for (config_id, condition_id), total in totals.usdc.items():
        exposure.seed(config_id, condition_id, total, totals.users.get(config_id))
    for (config_id, token_id), held in totals.shares.items():
        exposure.seed_shares(config_id, token_id, held, totals.users.get(config_id))
