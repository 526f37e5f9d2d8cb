"""`polyhunter leaders rank [LEADER...] (--from-file F | the Data API)`: leaders by their record."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import RetryPolicy
from polyhunter.analytics.history_file import HistoryError, read_history
from polyhunter.analytics.progress import ProgressLine
from polyhunter.analytics.ranking import bad_addresses, live_history, ranked, ranking_json
from polyhunter.analytics.report import leaders_table
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.errors import PolyHunterError
from polyhunter.domain.history import History
from polyhunter.domain.leader_stats import RankBy
from polyhunter.settings import Settings

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
        return await live_history(client, leaders)
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
    bad = bad_addresses(wanted)
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
    if as_json:
        typer.echo(json.dumps(ranking_json(history, wanted, by)))
    else:
        typer.echo(leaders_table(ranked(history, wanted, by), str(by)))
