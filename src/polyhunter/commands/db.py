"""`polyhunter db upgrade|downgrade|current`: schema migrations of the configured database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.settings import DbSettings
from polyhunter.store import migrate

T = TypeVar("T")

app = typer.Typer(help="Database schema migrations (Alembic, shipped inside the package).")

REVISION_UP = typer.Argument("head", help="Target revision (default: head, the newest).")
REVISION_DOWN = typer.Argument(
    "-1", help="Target revision: -1 (default, one step back), -N, a revision id or base."
)


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run(url: str, coro: Coroutine[Any, Any, T]) -> T:
    """Run one database step; a bad revision or an unreachable database is a one-line error, exit 1."""
    try:
        return asyncio.run(coro)
    except CommandError as exc:
        typer.echo(f"error: {exc}", err=True)
    except (SQLAlchemyError, OSError) as exc:
        typer.echo(f"error: {_where(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}", err=True)
    raise typer.Exit(code=1)


def _migrate(
    db: DbSettings, step: Callable[[DbSettings, str], Coroutine[Any, Any, None]], revision: str
) -> None:
    """Migrate to ``revision`` with ``step`` (up or down), then print where the database is."""
    _run(db.url, step(db, revision))
    heads = _run(db.url, migrate.current(db))
    typer.echo(f"{_where(db.url)}: at {', '.join(heads) or 'base'}")


@app.command("upgrade")
def upgrade(
    revision: str = REVISION_UP,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Migrate the database up to REVISION."""
    _migrate(settings_or_exit(settings_file, set_flags=set_flags).db, migrate.upgrade, revision)


@app.command("downgrade")
def downgrade(
    revision: str = REVISION_DOWN,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Migrate the database down to REVISION (one step by default; `base` removes every table)."""
    _migrate(settings_or_exit(settings_file, set_flags=set_flags).db, migrate.downgrade, revision)


@app.command("current")
def current(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Print the database's revision and whether it is the newest this code ships."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    heads = _run(settings.db.url, migrate.current(settings.db))
    head = migrate.head_revision()
    state = "up to date" if heads == (head,) else f"behind (newest is {head}; run `polyhunter db upgrade`)"
    typer.echo(f"{_where(settings.db.url)}: at {', '.join(heads) or 'base'}, {state}")
