"""`polyhunter watch LEADER...`: stream a leader's fills as normalized signals, one per line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.signal import Signal
from polyhunter.ingest.modes import IngestMode
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.runtime.shutdown import ShutdownSignals, run_until
from polyhunter.settings import Settings
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def signal_json(signal: Signal) -> dict[str, Any]:
    return {**signal.fields(), "lag_ms": signal.lag_ms}


def _line(signal: Signal) -> str:
    return (
        f"{signal.fill_time:%H:%M:%S} {signal.source:<7} {signal.leader[:10]}… {signal.side:<4} "
        f"{signal.size:>12} @ {signal.price:<8} {signal.slug or signal.asset[:16]}  lag {signal.lag_ms} ms"
    )


async def _watch(settings: Settings, leaders: list[str], as_json: bool) -> None:
    await upgrade(settings.db)
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)

    async def emit(signals: list[Signal]) -> None:
        for signal in signals:
            typer.echo(json.dumps(signal_json(signal)) if as_json else _line(signal))

    async def retracted(signal: Signal) -> None:
        # stdout holds only signals; a retraction of one printed before goes to stderr, one line
        why = "pending tx dropped" if signal.provisional else "re-org"
        typer.echo(
            f"retracted ({why}): key {signal.key} tx {signal.tx_hash} leader {signal.leader}", err=True
        )

    async def confirmed(signal: Signal) -> None:
        typer.echo(
            f"confirmed (mined): key {signal.key} tx {signal.tx_hash} leader {signal.leader}", err=True
        )

    # stale misses (older than the replay window after a restart) are logged with their key by the service
    clients = IngestClients.from_settings(settings)
    service = IngestService(
        settings, leaders, sessions, emit, clients=clients, on_retract=retracted, on_confirm=confirmed
    )
    try:
        with ShutdownSignals(settings.engine.shutdown_grace_s) as shutdown:  # SIGTERM/SIGINT: stop, drain
            await run_until(service.run(), shutdown.requested)
    finally:
        await clients.close()
        await engine.dispose()


def watch(
    leaders: Annotated[list[str], typer.Argument(help="Leader addresses (proxy wallets) to follow.")],
    mode: Annotated[
        IngestMode | None, typer.Option("--mode", "-m", help="Signal sources (default: ingest.mode).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Stream the leaders' fills as normalized signals, with source and lag (Ctrl-C to stop)."""
    bad = [leader for leader in leaders if not ADDRESS.fullmatch(leader)]
    if bad:
        names = ", ".join(repr(b) for b in bad)
        typer.echo(f"error: not a leader address (0x + 40 hex digits): {names}", err=True)
        raise typer.Exit(2)
    overrides = {"ingest": {"mode": str(mode)}} if mode else None
    settings = settings_or_exit(settings_file, overrides, set_flags)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch(settings, leaders, as_json))
