"""`polyhunter run --config FILE`: ingestion, copy engine and metrics for the followers in FILE."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.api.server import ApiPortError, check_api_port
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.commands.doctor import ready_or_exit
from polyhunter.runtime.run_file import load_run_file
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.secretbox import MasterKeyMissingError
from polyhunter.settings import Settings, SettingsError


async def _run(settings: Settings, config: Path, duration_s: float | None) -> None:
    supervisor = Supervisor(settings, load_run_file(config))
    with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
        await supervisor.start()
        await supervisor.run(duration_s, stop=shutdown.requested)


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
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Copy the leaders in the run file for its followers until stopped."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    # Everything that can be checked without side effects is checked before anything is migrated or
    # started: a bad run file or a busy API port is one line and exit code 2, never a traceback.
    try:
        run_file = load_run_file(config)
        check_api_port(settings.api.host, settings.api.port)
        ready_or_exit(settings, run_file)  # database, CLOB, wallets (`polyhunter doctor` checks more)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(settings, config, duration_s))
    except (SettingsError, ApiPortError, MasterKeyMissingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
