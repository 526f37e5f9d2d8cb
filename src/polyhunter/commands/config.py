"""`polyhunter config show|check` (the settings) and `polyhunter config paused|resume` (copy configs
paused by an operator-needed error)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.copy_configs import CopyConfigRepository, PausedConfig
from polyhunter.store.sessions import SessionFactory

T = TypeVar("T")

app = typer.Typer(
    help="Inspect and validate the settings (polyhunter.toml, then POLYHUNTER__* env, then flags); "
    "list and resume paused copy configs."
)
CONFIG_ID = typer.Argument(..., help="The copy config id (as `polyhunter config paused` lists it).")


@app.command("show")
def show(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Print the effective settings as JSON, every secret redacted."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    typer.echo(json.dumps(settings.redacted(), indent=2, sort_keys=True))


@app.command("check")
def check(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Validate the settings; exit 2 with one line per bad key otherwise."""
    settings_or_exit(settings_file, set_flags=set_flags)
    typer.echo("settings ok")


def _with_db(db: DbSettings, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(db, pooled=False)
        try:
            return await work(create_session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        typer.echo(f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(code=1) from None


@app.command("paused")
def paused(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """List the copy configs paused by an operator-needed error (bad config, auth, funds, no wallet),
    one line each: id, follower, leader, since, reason."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)

    async def read(sessions: SessionFactory) -> list[PausedConfig]:
        async with sessions() as session:
            return await CopyConfigRepository(session).paused()

    found = _with_db(settings.db, read)
    if not found:
        typer.echo("no paused configs")
    for p in found:
        state = "" if p.active else " (inactive)"
        typer.echo(f"{p.config_id}\t{p.username}\t{p.leader}\t{p.paused_at.isoformat()}\t{p.reason}{state}")


@app.command("resume")
def resume(
    config_id: int = CONFIG_ID,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Resume a paused copy config (running engines pick it up within seconds); exit 1 if it was not
    paused."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)

    async def clear(sessions: SessionFactory) -> bool:
        async with unit_of_work(sessions) as session:
            return await CopyConfigRepository(session).resume(config_id)

    if not _with_db(settings.db, clear):
        typer.echo(f"error: config {config_id} is not paused", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"config {config_id} resumed")
