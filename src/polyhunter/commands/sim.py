"""`polyhunter sim`: run the local Polymarket simulator until SIGTERM/SIGINT.

When every listener is up it prints ONE JSON line on stdout with the base URLs (keys ``clob``,
``data_api``, ``gamma``, ``clob_ws``, ``rtds_ws``, ``admin`` and ``chain_rpc`` when mirrored), so a
parent process can read it and connect. With ``--write-settings FILE`` it first writes a settings file
pointing `run`, `watch` and `doctor` at it (``sim/settings_file.py``).

`polyhunter sim fund ADDRESS --usdc N` funds a wallet on a running simulator (its admin ``POST /fund``);
in chain mode `--usdce N --pol N` put USDC.e and gas on the chain instead, for `polyhunter wallet setup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import aiohttp
import typer

from polyhunter.log import configure_logging
from polyhunter.sim.anvil import AnvilError, AnvilProcess
from polyhunter.sim.faults import FaultConfigError, Faults, parse_scope_values
from polyhunter.sim.scenarios import SCENARIOS, ScenarioConfig
from polyhunter.sim.server_app import SimServer
from polyhunter.sim.settings_file import admin_url_in, settings_toml, write_settings_file
from polyhunter.sim.timing import timing_named

__all__ = ["app", "sim"]

app = typer.Typer(
    help="The local Polymarket simulator (`polyhunter sim [OPTIONS]` runs it).",
    invoke_without_command=True,
    no_args_is_help=False,
)


async def _serve(server: SimServer, settings_out: Path | None, db_url: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        if settings_out is not None:
            about = f"scenario {server.config.name}, seed {server.config.seed}"
            text = settings_toml(
                server.urls,
                chain_id=server.chain_id,
                mirror_address=server.mirror_address,
                db_url=db_url,
                about=about,
                mempool=server.timing.block_time_s is not None,
            )
            try:
                write_settings_file(settings_out, text)
            except OSError as exc:
                typer.echo(f"error: --write-settings {settings_out}: {exc.strerror or exc}", err=True)
                raise typer.Exit(code=2) from None
        sys.stdout.write(json.dumps(server.urls) + "\n")
        sys.stdout.flush()
        await stop.wait()


@app.callback()
def sim(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="First port (surfaces take port..port+5); 0 = free ports.")] = 0,
    scenario: Annotated[str, typer.Option(help=f"Scenario: {', '.join(SCENARIOS)}.")] = "quiet",
    seed: Annotated[int, typer.Option(help="Seed: same seed, same markets, wallets and order flow.")] = 0,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    markets: Annotated[int, typer.Option(help="Markets (quiet, leaders).")] = 4,
    leaders: Annotated[int, typer.Option(help="Leader wallets (leaders).")] = 3,
    rate: Annotated[float, typer.Option(help="Leader fills per second (leaders).")] = 1.0,
    replay_file: Annotated[
        Path | None, typer.Option(help="JSON array of Data API trade rows (replay).")
    ] = None,
    speed: Annotated[float, typer.Option(help="Replay time compression factor.")] = 1.0,
    replay_delay: Annotated[
        float, typer.Option(help="Seconds to wait before the first replayed row (replay).")
    ] = 0.0,
    maker_level_size: Annotated[str, typer.Option(help="Shares per maker ladder level.")] = "500",
    resolve_every: Annotated[
        float | None,
        typer.Option(help="Resolve the next market every N seconds (holders redeem for themselves)."),
    ] = None,
    min_order_size: Annotated[
        str | None, typer.Option(help="Every market's minimum order size in shares (default 5).")
    ] = None,
    chain_rpc: Annotated[
        str | None,
        typer.Option(
            help="Settle every match on this JSON-RPC node (anvil); 'anvil' starts a private anvil (make node)."
        ),
    ] = None,
    chain_id: Annotated[int, typer.Option(help="Chain id orders and L1 auth are signed for.")] = 137,
    latency: Annotated[
        list[str] | None, typer.Option(help="Latency SCOPE=MS, e.g. clob:/book=50 or data_api=20.")
    ] = None,
    rate_429: Annotated[
        list[str] | None, typer.Option(help="429 rate SCOPE=P in [0,1], e.g. clob=0.2.")
    ] = None,
    rate_5xx: Annotated[list[str] | None, typer.Option(help="5xx rate SCOPE=P in [0,1].")] = None,
    ws_drop_every: Annotated[float | None, typer.Option(help="Close every websocket each N seconds.")] = None,
    ws_silence: Annotated[
        float | None, typer.Option(help="Websockets stay open but quiet for N seconds.")
    ] = None,
    stale_books: Annotated[bool, typer.Option(help="Freeze books (REST and websocket) at start.")] = False,
    delayed: Annotated[
        float | None,
        typer.Option(help="Marketable orders answer status 'delayed' and match after N seconds."),
    ] = None,
    order_version_mismatch: Annotated[
        int, typer.Option(min=0, help="Refuse the first N orders with order_version_mismatch.")
    ] = 0,
    order_version: Annotated[
        int,
        typer.Option(help="Exchange version GET /version serves (2 or 3); admin POST /version switches it."),
    ] = 2,
    history_retention_s: Annotated[
        float,
        typer.Option(
            min=0,
            help="Keep this many seconds of trade and order history (0: all); bounds memory on long runs.",
        ),
    ] = 0,
    timing: Annotated[
        str,
        typer.Option(
            help="fast (MINED 0.2 s after a match, RTDS and Data API at once) or live (2 s blocks, "
            "RTDS 0.8 s p50 / 1.4 s p99 after the block, Data API 10 s after it)."
        ),
    ] = "fast",
    block_time: Annotated[
        float | None,
        typer.Option(help="Override the profile's block time (s; with a chain: anvil mines it)."),
    ] = None,
    rtds_p50: Annotated[float | None, typer.Option(help="Override block -> RTDS p50 (s).")] = None,
    rtds_p99: Annotated[float | None, typer.Option(help="Override block -> RTDS p99 (s).")] = None,
    data_api_lag: Annotated[float | None, typer.Option(help="Override block -> Data API lag (s).")] = None,
    confirmed_delay: Annotated[float | None, typer.Option(help="Override block -> CONFIRMED (s).")] = None,
    drop_pending_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Replace this share of settlement transactions before their block (chain, live).",
        ),
    ] = 0.0,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr).")] = "WARNING",
    write_settings: Annotated[
        Path | None,
        typer.Option(
            "--write-settings",
            "--settings-out",
            help="Once listening, write a settings file for `run/watch/doctor --settings FILE`.",
        ),
    ] = None,
    settings_db: Annotated[
        str | None,
        typer.Option(help="db.url to write into the --write-settings file (default: the settings default)."),
    ] = None,
) -> None:
    """Serve Polymarket's CLOB, Data API, Gamma, CLOB websockets and RTDS locally."""
    if ctx.invoked_subcommand is not None:
        return
    configure_logging(log_level, "console", [])
    try:
        faults = Faults(
            seed=seed,
            latency_ms=parse_scope_values(latency or [], "--latency"),
            rate_429=parse_scope_values(rate_429 or [], "--rate-429"),
            rate_5xx=parse_scope_values(rate_5xx or [], "--rate-5xx"),
            ws_drop_every_s=ws_drop_every,
            stale_books=stale_books,
            delayed_s=delayed,
            order_version_mismatch=order_version_mismatch,
            order_version=order_version,
            drop_pending_rate=drop_pending_rate,
        )
        profile = timing_named(
            timing,
            block_time_s=block_time,
            rtds_p50_s=rtds_p50,
            rtds_p99_s=rtds_p99,
            data_api_lag_s=data_api_lag,
            confirmed_delay_s=confirmed_delay,
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
            replay_delay_s=replay_delay,
            maker_level_size=Decimal(maker_level_size),
            resolve_every_s=resolve_every,
            min_order_size=None if min_order_size is None else Decimal(min_order_size),
        )
        server = SimServer(
            config,
            port=port,
            host=host,
            faults=faults,
            chain_rpc=chain_rpc,
            chain_id=chain_id,
            history_retention_s=history_retention_s,
            timing=profile,
        )
    except (FaultConfigError, ValueError, ArithmeticError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    with contextlib.ExitStack() as stack:
        if chain_rpc == "anvil":  # a private node on a free port, stopped with the simulator
            try:
                server.chain_rpc = stack.enter_context(AnvilProcess(chain_id=chain_id)).url
            except AnvilError as exc:
                typer.echo(f"error: --chain-rpc anvil: {exc}", err=True)
                raise typer.Exit(code=2) from None
        asyncio.run(_serve(server, write_settings, settings_db))


def _admin_url(admin: str | None, settings_file: Path | None) -> str:
    if admin:
        return admin.rstrip("/")
    if settings_file is None:
        raise typer.BadParameter("give --admin URL or --settings FILE (written by --write-settings)")
    try:
        found = admin_url_in(settings_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"{settings_file}: {exc.strerror or exc}") from None
    if found is None:
        raise typer.BadParameter(f"{settings_file} names no sim admin URL (not written by --write-settings?)")
    return found.rstrip("/")


async def _post(url: str, body: dict[str, str]) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.post(url, json=body) as resp:
        return resp.status, await resp.text()


@app.command("fund")
def fund(
    address: Annotated[str, typer.Argument(help="The wallet (0x address) to fund.")],
    usdc: Annotated[str | None, typer.Option(help="Collateral (pUSD) to add, e.g. 1000.")] = None,
    usdce: Annotated[
        str | None,
        typer.Option(help="Chain mode: USDC.e to mint on the chain (`wallet setup` wraps it into pUSD)."),
    ] = None,
    pol: Annotated[str | None, typer.Option(help="Chain mode: POL for gas to add on the chain.")] = None,
    token: Annotated[
        str | None, typer.Option(help="Outcome token id to mint shares of (with --shares).")
    ] = None,
    shares: Annotated[str | None, typer.Option(help="Shares of --token to add (as full sets).")] = None,
    admin: Annotated[str | None, typer.Option(help="The simulator's admin URL (its `admin` line).")] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option("--settings", "-s", help="A file written by `polyhunter sim --write-settings`."),
    ] = None,
) -> None:
    """Fund a wallet on a running simulator: pUSD (--usdc), outcome shares (--token, --shares), and in
    chain mode USDC.e and POL on the chain (--usdce, --pol: a new wallet that `wallet setup` prepares)."""
    base = _admin_url(admin, settings_file)
    bodies: list[dict[str, str]] = []
    if usdc is not None:
        bodies.append({"address": address, "collateral": usdc})
    chain = {k: v for k, v in (("usdce", usdce), ("pol", pol)) if v is not None}
    if chain:
        bodies.append({"address": address, **chain})
    if token is not None or shares is not None:
        if token is None or shares is None:
            raise typer.BadParameter("--token and --shares go together")
        bodies.append({"address": address, "token_id": token, "shares": shares})
    if not bodies:
        raise typer.BadParameter("nothing to fund: give --usdc, --usdce, --pol and/or --token with --shares")
    for body in bodies:
        try:
            status, text = asyncio.run(_post(base + "/fund", body))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            typer.echo(
                f"error: no answer from the simulator at {base}: {exc or type(exc).__name__}", err=True
            )
            raise typer.Exit(code=1) from None
        if status != 200:
            typer.echo(f"error: the simulator refused {body}: HTTP {status} {text.strip()}", err=True)
            raise typer.Exit(code=1)
    typer.echo(text.strip())
