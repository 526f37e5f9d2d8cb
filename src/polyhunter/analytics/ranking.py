"""`leaders rank`'s computation, shared by the command and the API (`GET /api/v1/leaders/rank`): the
fills of each named leader in a history, analyzed (domain/leader_stats.py) and ranked; and the
histories of leaders from the Data API (one client, one leader after another)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.analytics.live_history import fetch_history
from polyhunter.analytics.report import leader_json
from polyhunter.domain.history import History, HistoryFill
from polyhunter.domain.leader_stats import LeaderStats, RankBy, analyze_leader, rank

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def bad_addresses(addresses: Iterable[str]) -> list[str]:
    """The ones that are not a wallet address (0x and 40 hex digits)."""
    return [x for x in addresses if not ADDRESS.fullmatch(x)]


def ranked(history: History, leaders: list[str] | None, by: RankBy) -> list[LeaderStats]:
    """The named leaders (default: every wallet in the history), best first by `by`."""
    names = [x.lower() for x in leaders or []] or history.leaders()
    by_leader: dict[str, list[HistoryFill]] = {name: [] for name in names}
    for fill in history.fills:
        if fill.leader in by_leader:
            by_leader[fill.leader].append(fill)
    return rank(
        [
            analyze_leader(name, fills, history.resolutions, history.marks)
            for name, fills in by_leader.items()
        ],
        by,
    )


def ranking_json(history: History, leaders: list[str] | None, by: RankBy) -> dict[str, Any]:
    """`leaders rank --json`'s object."""
    return {
        "by": str(by),
        "leaders": [leader_json(s) for s in ranked(history, leaders, by)],
        "ignored_rows": history.ignored,
    }


async def live_history(client: DataApiClient, leaders: Iterable[str]) -> History:
    """The leaders' fills, redemptions and positions from the Data API, in one history."""
    history = History()
    for leader in leaders:
        await fetch_history(client, leader, history)
    return history


def merged(histories: Iterable[History]) -> History:
    """Several leaders' histories as one (fills in time order)."""
    out = History()
    for h in histories:
        out.fills += h.fills
        out.resolutions.update(h.resolutions)
        out.marks.update(h.marks)
        for kind, n in h.ignored.items():
            out.ignored[kind] = out.ignored.get(kind, 0) + n
    out.fills.sort(key=lambda f: f.timestamp)
    return out
