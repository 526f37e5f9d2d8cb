"""Analytics under /api/v1: the daily PnL series of what the account owns (a follower, a config, a
watched leader as copied by its followers) and the leader ranking for the dashboard (`leaders rank`
over the Data API, cached). Mounted before the leader routes: `/leaders/rank` is not a leader id."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query

from polyhunter.analytics.ranking import bad_addresses
from polyhunter.api.auth_deps import current_principal
from polyhunter.api.leader_rank import MAX_ADDRESSES, LeaderRankings
from polyhunter.domain.errors import PolyHunterError
from polyhunter.domain.leader_stats import RankBy
from polyhunter.service.auth import Principal
from polyhunter.service.models import MAX_ID
from polyhunter.service.pnl import PnlDayOut, PnlService

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Me = Annotated[Principal, Depends(current_principal)]
DEFAULT_DAYS = 30
MAX_DAYS = 366


def day_range(since: date | None = None, until: date | None = None) -> tuple[date, date]:
    """`since`..`until` (UTC days, both included): default the last 30 days to today, at most 366."""
    end = until or datetime.now(UTC).date()
    start = since or max(date.min, end - timedelta(days=min(DEFAULT_DAYS - 1, (end - date.min).days)))
    if start > end:
        raise HTTPException(400, "since is after until")
    if (end - start).days >= MAX_DAYS:
        raise HTTPException(400, f"at most {MAX_DAYS} days at a time")
    return start, end


Days = Annotated[tuple[date, date], Depends(day_range)]


def mount_analytics(api: APIRouter, pnl: PnlService | None, rankings: LeaderRankings | None) -> None:
    if rankings is not None:
        _rank_routes(api, rankings)
    if pnl is not None:
        _pnl_routes(api, pnl)


def _rank_routes(api: APIRouter, rankings: LeaderRankings) -> None:
    @api.get(
        "/leaders/rank",
        tags=["leaders"],
        summary="Leaders ranked by their record (`polyhunter leaders rank --json`), from the Data API",
        responses={
            400: {"description": "no address, too many, or one that is not 0x + 40 hex digits"},
            502: {"description": "the Data API failed"},
        },
    )
    async def rank(
        _me: Me,
        address: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI's way
        by: RankBy = RankBy.PNL,
    ) -> dict[str, Any]:
        if not address:
            raise HTTPException(400, "name the leaders to rank: ?address=0x...&address=0x...")
        if len(set(a.lower() for a in address)) > MAX_ADDRESSES:
            raise HTTPException(400, f"at most {MAX_ADDRESSES} leaders at a time")
        bad = bad_addresses(address)
        if bad:
            raise HTTPException(
                400, "not a leader address (0x + 40 hex digits): " + ", ".join(repr(b[:64]) for b in bad)
            )
        try:
            return await rankings.rank(address, by)
        except (PolyHunterError, msgspec.ValidationError) as exc:  # the Data API down, refusing, or garbled
            raise HTTPException(502, "Data API: " + " ".join(str(exc).split())[:300]) from None


BAD_RANGE: dict[int | str, dict[str, Any]] = {400: {"description": "since after until, or over 366 days"}}


def _pnl_routes(api: APIRouter, pnl: PnlService) -> None:
    @api.get(
        "/followers/{follower_id}/pnl/daily",
        tags=["followers"],
        summary="A follower's daily PnL",
        responses=BAD_RANGE,
    )
    async def follower_pnl(me: Me, follower_id: Id, days: Days) -> list[PnlDayOut]:
        return [PnlDayOut.of(d) for d in await pnl.follower(me, follower_id, *days)]

    @api.get(
        "/configs/{config_id}/pnl/daily",
        tags=["configs"],
        summary="A copy config's daily PnL",
        responses=BAD_RANGE,
    )
    async def config_pnl(me: Me, config_id: Id, days: Days) -> list[PnlDayOut]:
        return [PnlDayOut.of(d) for d in await pnl.config(me, config_id, *days)]

    @api.get(
        "/leaders/{leader_id}/pnl/daily",
        tags=["leaders"],
        summary="A watched leader's daily PnL as copied by this account's followers",
        responses=BAD_RANGE,
    )
    async def leader_pnl(me: Me, leader_id: Id, days: Days) -> list[PnlDayOut]:
        return [PnlDayOut.of(d) for d in await pnl.leader(me, leader_id, *days)]
