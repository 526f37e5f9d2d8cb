"""`polyhunter cluster status`: the cluster's members, every partition's owner and its lag, and every
ingest shard's owner (the worker polling its leaders)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from polyhunter.cluster.status import cluster_status, status_text
from polyhunter.cluster.worker import cluster_prefix, cluster_redis
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.coord.factory import redis_key_prefix
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.deployment import deployment_id

app = typer.Typer(help="The workers of a scaled-out deployment (`polyhunter worker`).", no_args_is_help=True)


async def _status(settings: Settings) -> dict[str, Any]:
    db = create_engine(settings.db)
    try:
        deployment = await deployment_id(create_session_factory(db))
    finally:
        await db.dispose()
    redis = cluster_redis(settings.coord.redis_url, 1)
    try:
        prefix = cluster_prefix(redis_key_prefix(settings.coord, deployment))
        return await cluster_status(redis, prefix, settings.cluster)
    finally:
        await redis.aclose()


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Members (roles, partitions and ingest shards held), every partition's owner, lag and unacknowledged
    entries, every ingest shard's owner."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    try:
        found = asyncio.run(_status(settings))
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(found) if as_json else status_text(found))
