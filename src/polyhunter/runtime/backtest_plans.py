"""The run file's followers and copy configs as a backtest replays them: as the engine would get them
from the store after provisioning (one config per follower and leader, ids unique)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polyhunter.domain.backtest import FollowerPlan
from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.settings import SettingsError


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{path}: run file not found") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise SettingsError(f"{path}: not valid TOML: {' '.join(str(exc).split())[:200]}") from None


def load_backtest_config(path: Path, leader: str | None = None) -> RunFile:
    """`path` as a backtest reads it: a run file (``[[followers]]`` with their copies), or ONE copy
    config as a table of the run file's copy keys (``sizing``, ``sizing_value``, ...; its ``leader``
    may be left out when `leader` is given; ``starting_cash_usdc`` beside them sets the follower's
    cash). With `leader`, only copies of that leader are kept (none: an error)."""
    data = _read_toml(path)
    if "followers" in data:
        run = load_run_file(path)
    elif "sizing" in data:
        copy = dict(data)
        cash = copy.pop("starting_cash_usdc", None)
        if leader is not None:
            given = copy.setdefault("leader", leader)
            if not isinstance(given, str) or given.lower() != leader.lower():
                raise SettingsError(f"{path}: leader {str(given)[:50]!r} is not the --leader {leader}")
        elif "leader" not in copy:
            raise SettingsError(f"{path}: leader: a copy config table needs a leader (or give --leader)")
        follower: dict[str, Any] = {"name": "follower", "copies": [copy]}
        if cash is not None:
            follower["starting_cash_usdc"] = cash
        try:
            run = RunFile.model_validate({"followers": [follower]})
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
                key = loc[-1] if loc else "(table)"
                lines.append(f"{path}: {key}: {err['msg']}")
            raise SettingsError("\n".join(lines)) from None
    else:
        raise SettingsError(
            f"{path}: expected a run file ([[followers]] with copies) or one copy config table"
            ' (sizing = "FIXED_USDC", sizing_value = "10", ...)'
        )
    if leader is not None:
        wanted = leader.lower()
        kept = [
            f.model_copy(update={"copies": [c for c in f.copies if c.leader.lower() == wanted]})
            for f in run.followers
        ]
        kept = [f for f in kept if f.copies]
        if not kept:
            raise SettingsError(f"{path}: no copy config copies the --leader {leader}")
        run = run.model_copy(update={"followers": kept})
    return run
