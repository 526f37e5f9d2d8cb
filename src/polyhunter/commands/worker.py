"""`polyhunter worker --roles ingest,execute`: one worker of a cluster (several hosts share the work).

An ingest worker runs the leaders' sources and appends each accepted signal once to the signal stream
(Redis Streams); an execution worker owns some of the `cluster.partitions` follower partitions (leases
with a TTL, rebalanced as workers join and leave) and copies their signals for the followers in them.
One process may hold both roles. Needs `coord.backend = "redis"` and a database every worker shares.
The single-host `polyhunter run` needs none of this. Prints one ready line (JSON) once working.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.api.server import ApiPortError, check_api_port
from polyhunter.cluster.worker import parse_roles
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.commands.doctor import ready_or_exit
from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.runtime.shutdown import ShutdownSignals
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.secretbox import MasterKeyMissingError
from polyhunter.settings import Settings, SettingsError


async def _work(
    settings: Settings, run_file: RunFile | None, roles: tuple[str, ...], duration_s: float | None
) -> None:
    supervisor = Supervisor(settings, run_file, roles=roles)
    with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT drain
        await supervisor.start()
        try:
            ready = {
                "event": "worker ready",
                "worker": supervisor.worker_id,
                "roles": list(roles),
                "api": None if supervisor.api is None else supervisor.api.url,
            }
            typer.echo(json.dumps(ready), nl=True)
            await supervisor.run(duration_s, stop_after=False, stop=shutdown.requested)
        finally:
            await supervisor.stop()


def worker(
    roles_text: Annotated[
        str, typer.Option("--roles", help="Comma-separated: ingest, execute (default both).")
    ] = "ingest,execute",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Optional run file: its followers and leaders are provisioned."),
    ] = None,
    duration_s: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: until SIGTERM or Ctrl-C)."),
    ] = None,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Work as one member of a cluster (ingest, execute or both) until stopped."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    try:
        roles = parse_roles(roles_text)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.coord.backend != "redis":
        typer.echo('error: a worker needs coord.backend = "redis" (the signal stream, the leases)', err=True)
        raise typer.Exit(2)
    try:
        run_file = None if config is None else load_run_file(config)
        check_api_port(settings.api.host, settings.api.port)
        ready_or_exit(settings, run_file or RunFile.model_construct(followers=[]))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_work(settings, run_file, roles, duration_s))
    except (SettingsError, ApiPortError, MasterKeyMissingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
