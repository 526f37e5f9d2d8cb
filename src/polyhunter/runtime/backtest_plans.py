"""The run file's followers and copy configs as a backtest replays them: as the engine would get them
from the store after provisioning (one config per follower and leader, ids unique)."""

from __future__ import annotations

import dataclasses

from polyhunter.domain.backtest import FollowerPlan
from polyhunter.runtime.run_file import RunFile


def follower_plans(run: RunFile) -> list[FollowerPlan]:
    """One plan per follower (user ids 1, 2, ... in file order; config ids unique across followers)."""
    plans, next_id = [], 1
    for user_id, f in enumerate(run.followers, start=1):
        configs = []
        for copy in f.copies:
            configs.append(dataclasses.replace(copy.to_domain(user_id, f.custody), id=next_id, version=1))
            next_id += 1
        plans.append(
            FollowerPlan(
                name=f.name,
                user_id=user_id,
                starting_cash=f.starting_cash_usdc,
                configs=tuple(configs),
                daily_cap_usdc=f.limits.daily_cap_usdc,
                max_trade_usdc=f.limits.max_trade_usdc,
            )
        )
    return plans
