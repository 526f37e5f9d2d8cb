"""`polyhunter serve`: the platform in one process: the JSON API under /api/v1 (OpenAPI at
/openapi.json), the dashboard at /, and the copy engine for every account's followers, read from the
database (and a run file's, with `--config`). Changes made through the API take effect without a
restart (`runtime/live_sync.py`). Prints one ready line with the dashboard's URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.api.server import ApiPortError, check_api_port
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.commands.doctor import ready_or_exit
from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.secretbox import MasterKeyMissingError
from polyhunter.settings import Settings, SettingsError


async def _serve(settings: Settings, run_file: RunFile | None, duration_s: float | None) -> None:
    supervisor = Supervisor(settings, run_file)
    with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
        await supervisor.start()
        try:
            assert supervisor.api is not None
            url = supervisor.api.url
            ready = {
                "event": "serving",
                "dashboard": url + "/",
                "api": url + "/api/v1",
                "openapi": url + "/openapi.json",
            }
            typer.echo(json.dumps(ready), nl=True)
            await supervisor.run(duration_s, stop_after=False, stop=shutdown.requested)
        finally:
            await supervisor.stop()


def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Optional run file: its followers are copied too."),
    ] = None,
    duration_s: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: until SIGTERM or Ctrl-C)."),
    ] = None,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Serve the API and the dashboard and copy for every account's followers until stopped."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    try:
        run_file = None if config is None else load_run_file(config)
        check_api_port(settings.api.host, settings.api.port)
        ready_or_exit(settings, run_file or RunFile.model_construct(followers=[]))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings, run_file, duration_s))
    except (SettingsError, ApiPortError, MasterKeyMissingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
