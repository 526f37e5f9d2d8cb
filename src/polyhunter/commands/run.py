"""`polyhunter run --config FILE`: ingestion, copy engine and metrics for the followers in FILE.

On a terminal it shows a live view (recent copies, PnL per follower); otherwise one `progress` log
line every few seconds. When it stops (after the drain) it prints a summary on stdout (`--json`: as
JSON, and no live view).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.api.server import ApiPortError, check_api_port
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.commands.doctor import ready_or_exit
from polyhunter.log import get_logger
from polyhunter.runtime.live_view import LiveLog, summary, summary_json, summary_text, watch
from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import SLOW_STOP_S, Supervisor
from polyhunter.secretbox import MasterKeyMissingError
from polyhunter.settings import Settings, SettingsError

log = get_logger(__name__)


async def _run(settings: Settings, run_file: RunFile, duration_s: float | None, as_json: bool) -> None:
    view = LiveLog(title="PolyHunter run")
    supervisor = Supervisor(settings, run_file, on_copy=view.add)
    with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
        await supervisor.start()
        started = time.monotonic()
        try:
            view.bind(supervisor.queries)
            running = supervisor.run(duration_s, stop_after=False, stop=shutdown.requested)
            await watch(supervisor.queries, view, running, live=sys.stdout.isatty() and not as_json)
            asked = time.monotonic()
            result = await summary(supervisor.queries, view, started)
            if time.monotonic() - asked >= SLOW_STOP_S:  # venue balances and positions, per follower
                log.warning("slow step at stop", step="summary", took_s=round(time.monotonic() - asked, 1))
        finally:
            await supervisor.stop()
    typer.echo(summary_json(result) if as_json else summary_text(result))


def run(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Run file: followers, leaders, custody, limits.")
    ],
    duration_s: Annotated[
        float | None,
        typer.Option(
            "--duration", help="Stop after this many seconds (default: until SIGTERM or Ctrl-C, which drain)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="No live view; print the summary at the end as JSON.")
    ] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Copy the leaders in the run file for its followers until stopped; print a summary then."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    # Everything that can be checked without side effects is checked before anything is migrated or
    # started: a bad run file or a busy API port is one line and exit code 2, never a traceback.
    try:
        run_file = load_run_file(config)
        check_api_port(settings.api.host, settings.api.port)
        ready_or_exit(settings, run_file)  # database, CLOB, wallets (`polyhunter doctor` checks more)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(settings, run_file, duration_s, as_json))
    except (SettingsError, ApiPortError, MasterKeyMissingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
