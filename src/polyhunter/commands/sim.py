"""`polyhunter sim`: run the local Polymarket simulator until SIGTERM/SIGINT.

When every listener is up it prints ONE JSON line on stdout with the base URLs (keys ``clob``,
``data_api``, ``gamma``, ``clob_ws``, ``rtds_ws``, ``admin`` and ``chain_rpc`` when mirrored), so a
parent process can read it and connect.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from decimal import Decimal
from pathlib import Path

import typer

from polyhunter.log import configure_logging
from polyhunter.sim.faults import FaultConfigError, Faults, parse_scope_values
from polyhunter.sim.scenarios import SCENARIOS, ScenarioConfig
from polyhunter.sim.server_app import SimServer

__all__ = ["sim"]


async def _serve(server: SimServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        sys.stdout.write(json.dumps(server.urls) + "\n")
        sys.stdout.flush()
        await stop.wait()


def sim(
    port: int = typer.Option(0, help="First port (surfaces take port..port+5); 0 = free ports."),
    scenario: str = typer.Option("quiet", help=f"Scenario: {', '.join(SCENARIOS)}."),
    seed: int = typer.Option(0, help="Seed: same seed, same markets, wallets and order flow."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    markets: int = typer.Option(4, help="Markets (quiet, leaders)."),
    leaders: int = typer.Option(3, help="Leader wallets (leaders)."),
    rate: float = typer.Option(1.0, help="Leader fills per second (leaders)."),
    replay_file: Path | None = typer.Option(None, help="JSON array of Data API trade rows (replay)."),
    speed: float = typer.Option(1.0, help="Replay time compression factor."),
    maker_level_size: str = typer.Option("500", help="Shares per maker ladder level."),
    chain_rpc: str | None = typer.Option(None, help="Mirror every match on this JSON-RPC node (anvil)."),
    chain_id: int = typer.Option(137, help="Chain id orders and L1 auth are signed for."),
    latency: list[str] = typer.Option([], help="Latency SCOPE=MS, e.g. clob:/book=50 or data_api=20."),
    rate_429: list[str] = typer.Option([], help="429 rate SCOPE=P in [0,1], e.g. clob=0.2."),
    rate_5xx: list[str] = typer.Option([], help="5xx rate SCOPE=P in [0,1]."),
    ws_drop_every: float | None = typer.Option(None, help="Close every websocket each N seconds."),
    ws_silence: float | None = typer.Option(None, help="Websockets stay open but quiet for N seconds."),
    stale_books: bool = typer.Option(False, help="Freeze books (REST and websocket) at start."),
    log_level: str = typer.Option("WARNING", help="Log level (logs go to stderr)."),
) -> None:
    """Serve Polymarket's CLOB, Data API, Gamma, CLOB websockets and RTDS locally."""
    configure_logging(log_level, "console", [])
    try:
        faults = Faults(
            seed=seed,
            latency_ms=parse_scope_values(latency, "--latency"),
            rate_429=parse_scope_values(rate_429, "--rate-429"),
            rate_5xx=parse_scope_values(rate_5xx, "--rate-5xx"),
            ws_drop_every_s=ws_drop_every,
            stale_books=stale_books,
        )
        if ws_silence is not None:
            faults.set_silence(ws_silence)
        config = ScenarioConfig(
            name=scenario,
            seed=seed,
            markets=markets,
            leaders=leaders,
            rate=rate,
            replay_file=replay_file,
            speed=speed,
            maker_level_size=Decimal(maker_level_size),
        )
        server = SimServer(config, port=port, host=host, faults=faults, chain_rpc=chain_rpc, chain_id=chain_id)
    except (FaultConfigError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    asyncio.run(_serve(server))
