"""`polyhunter archive --older-than DAYS`: move old terminal copy trades (with their orders and
guardrail events) and old unreferenced signals to the archive tables, in batches, then VACUUM.

What moves and why it is safe (PENDING never moves, the signals' dedup survives, today's caps and
the exposure seed are unchanged) is in store/archive.py. Safe to stop and re-run at any time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.settings import Settings
from polyhunter.store import archive as store_archive
from polyhunter.store.database import create_engine

OLDER_THAN = typer.Option(..., "--older-than", min=1, help="Move rows older than DAYS days (at least 1).")
BATCH = typer.Option(1000, "--batch", min=1, help="Rows per transaction.")
DRY_RUN = typer.Option(False, "--dry-run", help="Count what would move; move nothing.")


def _progress(what: str, done: int, total: int) -> None:
    typer.echo(f"archive {what}: {done}/{total} moved", err=True)


async def _archive(settings: Settings, days: int, batch: int, dry_run: bool) -> store_archive.ArchiveCounts:
    cut = store_archive.cutoffs(datetime.now(UTC), days, settings.ingest)
    engine = create_engine(settings.db, pooled=False)
    try:
        if dry_run:
            return await store_archive.count(engine, cut)
        moved = await store_archive.archive(engine, cut, batch=batch, progress=_progress)
        typer.echo("archive: vacuum", err=True)
        await store_archive.vacuum(engine)
        return moved
    finally:
        await engine.dispose()


def archive(
    older_than: int = OLDER_THAN,
    batch: int = BATCH,
    dry_run: bool = DRY_RUN,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Move terminal copy trades, their orders and guardrail events, and unreferenced signals older
    than --older-than days to the *_archive tables (batches; safe to stop and re-run)."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    try:
        counts = asyncio.run(_archive(settings, older_than, batch, dry_run))
    except (SQLAlchemyError, OSError) as exc:
        where = make_url(settings.db.url).render_as_string(hide_password=True)
        typer.echo(f"error: {where}: {type(exc).__name__}: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(code=1) from None
    verb = "would move" if dry_run else "moved"
    typer.echo(
        f"{verb}: copy_trades={counts.copy_trades} orders={counts.orders} "
        f"guardrail_events={counts.guardrail_events} signals={counts.signals}"
    )
