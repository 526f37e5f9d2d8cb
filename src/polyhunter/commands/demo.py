"""`polyhunter demo`: simulator + demo followers + the copy engine, with a live view or a JSON summary."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.runtime.demo import ProxyDemo, ProxySetup, run_demo
from polyhunter.sim.anvil import AnvilError, AnvilProcess, anvil_path
from polyhunter.sim.chain_build import ChainBuildError, solcjs_path
from polyhunter.sim.proxy_stack import proxy_stack
from polyhunter.sim.server_app import SimServer
from polyhunter.sim.timing import TIMINGS, SimTiming, timing_named

# The embedded simulator keeps one minute of trade and order history (the followers' poller reads
# seconds back); a demo left running for hours then holds a window, not everything it ever traded.
SIM_HISTORY_RETENTION_S = 60.0


MICRO = 1_000_000


@contextlib.asynccontextmanager
async def _proxy_on_anvil(urls: dict[str, str], tokens: list[str]) -> AsyncIterator[ProxyDemo]:
    """The custody contracts on the simulator's chain (anvil, chain mode) over its pUSD and CTF, the PROXY
    follower's proxy (1000 USDC), the DIRECT follower's (1000 USDC, the exchanges approved by its owner)
    and two fleet workers (500 USDC of float each, on the venue)."""
    del tokens  # the workers hold no shares: what they buy, settlement hands to the proxy
    async with proxy_stack(
        urls["admin"],
        urls["chain_rpc"],
        deposit_micro=1_000 * MICRO,
        float_micro=500 * MICRO,
        direct_deposit_micro=1_000 * MICRO,
    ) as stack:
        fleet = [(w.address, w.key, w.float_micro) for w in stack.fleet]
        yield ProxyDemo(stack.rpc_url, stack.proxy, stack.proxy_settings(), fleet, stack.direct_proxy)


def _proxy_setup() -> tuple[ProxySetup | None, str]:
    """The PROXY follower's set-up when the chain tools are installed; otherwise why it does not run."""
    try:
        anvil_path()
        solcjs_path()
    except (AnvilError, ChainBuildError) as exc:
        return None, f"not run: no chain tools ({exc}); `make node` installs anvil and solc"
    return _proxy_on_anvil, ""


def _demo_timing(name: str, *, chained: bool) -> SimTiming:
    """The timing profile; on a chain, anvil mines each transaction at once (the live profile's 2 s blocks
    would make every set-up transaction and deposit wait for one while the leaders trade: minutes to start),
    the profile's other delays (RTDS, Data API, confirmations) kept."""
    timing = timing_named(name)
    return dataclasses.replace(timing, block_time_s=None) if chained else timing


def demo(
    duration_s: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="No live view; print one JSON summary at the end.")
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", help="Simulator seed (same seed, same leaders and markets).")
    ] = 7,
    rate: Annotated[float, typer.Option("--rate", help="Leader fills per second in the simulator.")] = 2.0,
    timing: Annotated[
        str,
        typer.Option(
            "--timing",
            help="Simulator timing: live (2 s blocks, RTDS ~0.8 s after the block, Data API 10 s) or fast.",
        ),
    ] = "live",
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Copy the simulator's leaders for a paper, an own-wallet and (with anvil) a PROXY and a DIRECT follower,
    end to end."""
    if duration_s is not None and duration_s <= 0:
        typer.echo("error: --duration must be positive", err=True)
        raise typer.Exit(2)
    if timing not in TIMINGS:
        typer.echo(f"error: --timing must be one of {', '.join(TIMINGS)}", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    # The demo's database is new each time: its migrations are not news (warnings still show).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    proxy_setup, proxy_note = _proxy_setup()
    with contextlib.suppress(KeyboardInterrupt), contextlib.ExitStack() as chain:
        # with the chain tools the simulator runs in chain mode: its money on anvil, for PROXY and DIRECT
        chain_rpc = chain.enter_context(AnvilProcess()).url if proxy_setup is not None else None
        asyncio.run(
            run_demo(
                settings,
                SimServer(
                    "leaders",
                    seed,
                    0,
                    leaders=3,
                    markets=4,
                    rate=rate,
                    history_retention_s=SIM_HISTORY_RETENTION_S,
                    timing=_demo_timing(timing, chained=chain_rpc is not None),
                    chain_rpc=chain_rpc,
                ),
                duration_s=duration_s,
                as_json=as_json,
                seed=seed,
                workdir=Path("var/demo"),
                proxy_setup=proxy_setup,
                proxy_note=proxy_note,
            )
        )
