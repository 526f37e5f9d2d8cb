"""`polyhunter leaders rank [LEADER...] (--from-file F | the Data API)`: leaders by their record."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import RetryPolicy
from polyhunter.analytics.history_file import HistoryError, read_history
from polyhunter.analytics.live_history import fetch_history
from polyhunter.analytics.progress import ProgressLine
from polyhunter.analytics.report import leader_json, leaders_table
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.errors import PolyHunterError
from polyhunter.domain.history import History, HistoryFill
from polyhunter.domain.leader_stats import RankBy, analyze_leader, rank
from polyhunter.settings import Settings

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

app = typer.Typer(help="Leaders: who is worth copying, from their recorded history.", no_args_is_help=True)


async def _live(settings: Settings, leaders: list[str]) -> History:
    v = settings.venue
    client = DataApiClient(
        v.data_api_url,
        v.request_timeout_ms,
        RetryPolicy(max_retries=v.max_retries),
        positions_max_pages=v.positions_max_pages,
    )
    try:
        history = History()
        for leader in leaders:
            await fetch_history(client, leader, history)
        return history
    finally:
        await client.close()


@app.command("rank")
def rank_command(
    leaders: Annotated[
        list[str] | None,
        typer.Argument(help="Leader addresses (default with --from-file: every wallet in it)."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", help="A recorded history (JSON array of Data API rows); else the Data API."
        ),
    ] = None,
    by: Annotated[RankBy, typer.Option("--by", help="What to rank by.")] = RankBy.PNL,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress on stderr (default: files over 16 MiB)."),
    ] = None,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Rank leaders by realized PnL over resolved markets (or --by): win rate, ROI, volume, markets,
    average holding time and the drawdown of their PnL curve."""
    wanted = leaders or []
    bad = [x for x in wanted if not ADDRESS.fullmatch(x)]
    if bad:
        typer.echo(
            f"error: not a leader address (0x + 40 hex digits): {', '.join(repr(b) for b in bad)}", err=True
        )
        raise typer.Exit(2)
    if from_file is None and not wanted:
        typer.echo("error: name the leaders to rank, or give --from-file", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(settings_file, None, set_flags)
    try:
        if from_file is not None:
            with ProgressLine.for_file("reading history", from_file, progress) as bar:
                history = read_history(from_file, {x.lower() for x in wanted} or None, bar.update)
        else:
            history = asyncio.run(_live(settings, wanted))
    except HistoryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except (PolyHunterError, msgspec.ValidationError) as exc:  # the Data API down, refusing, or garbled
        detail = " ".join(str(exc).split())[:300]
        typer.echo(f"error: Data API {settings.venue.data_api_url}: {detail}", err=True)
        raise typer.Exit(1) from None
    names = [x.lower() for x in wanted] or history.leaders()
    by_leader: dict[str, list[HistoryFill]] = {name: [] for name in names}
    for fill in history.fills:
        if fill.leader in by_leader:
            by_leader[fill.leader].append(fill)
    ranked = rank(
        [
            analyze_leader(name, fills, history.resolutions, history.marks)
            for name, fills in by_leader.items()
        ],
        by,
    )
    if as_json:
        out = {"by": str(by), "leaders": [leader_json(s) for s in ranked], "ignored_rows": history.ignored}
        typer.echo(json.dumps(out))
    else:
        typer.echo(leaders_table(ranked, str(by)))
