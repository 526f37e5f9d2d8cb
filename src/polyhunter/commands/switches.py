"""`polyhunter switches`: the platform's kill switch and dry run, for every running process at once.

The switches live in the database (`change_counter.halted`, `.dry_run`, migration 0013). Setting one
bumps the change counter in the same transaction and publishes on the change feed (with Redis): every
process's live sync reads them within a second (`runtime/live_sync.py`; at the latest within
`api.sync_interval_ms`) and its guardrails veto every copy after that (KILL_SWITCH, DRY_RUN) before
anything is sent. Copies already sent are not recalled. Without an option: print the switches.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.coord.change_feed import ChangeFeed, changes_channel
from polyhunter.coord.factory import redis_key_prefix
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.deployment import deployment_id
from polyhunter.store.repos.platform import set_switches, switches


async def _switch(settings: Settings, halted: bool | None, dry_run: bool | None) -> tuple[bool, bool]:
    db = create_engine(settings.db, pooled=False)
    try:
        sessions = create_session_factory(db)
        if halted is not None or dry_run is not None:
            async with unit_of_work(sessions) as session:
                await set_switches(session, datetime.now(UTC), halted=halted, dry_run=dry_run)
            if settings.coord.backend == "redis":
                deployment = await deployment_id(sessions)
                feed = ChangeFeed(
                    settings.coord.redis_url, changes_channel(redis_key_prefix(settings.coord, deployment))
                )
                try:
                    await feed.publish()
                finally:
                    await feed.close()
        async with unit_of_work(sessions) as session:
            return await switches(session)
    finally:
        await db.dispose()


def switches_command(
    halt: Annotated[
        bool | None,
        typer.Option("--halt/--resume", help="Halt every copy on every worker (the kill switch), or resume."),
    ] = None,
    dry_run: Annotated[
        bool | None,
        typer.Option("--dry-run/--live", help="Send nothing, on every worker (or send again)."),
    ] = None,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """The platform's kill switch and dry run (every running process reads them within a second)."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    try:
        halted, dry = asyncio.run(_switch(settings, halt, dry_run))
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"halted": halted, "dry_run": dry}))
