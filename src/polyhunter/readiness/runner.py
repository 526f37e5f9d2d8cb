"""Which checks run, concurrently, each within its timeout: all of them for `polyhunter doctor`, the
critical ones (database answers, CLOB reachable, wallets sign in, PROXY followers' proxies deployed) before
`polyhunter run` starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import aiohttp

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.readiness.checks import DEFAULT_TIMEOUT_S, CheckResult, bounded
from polyhunter.readiness.infra import (
    HEAD_WAIT_S,
    check_chain,
    check_database,
    check_master_key,
    check_redis,
    master_key_problem,
)
from polyhunter.readiness.proxy import check_proxy, proxy_checks
from polyhunter.readiness.venue import check_clob, check_http_surface, check_rtds
from polyhunter.readiness.wallets import check_wallet
from polyhunter.runtime.run_file import RunFile
from polyhunter.settings import Settings


async def _flatten(parts: list[Awaitable[CheckResult | list[CheckResult]]]) -> list[CheckResult]:
    out: list[CheckResult] = []
    for part in await asyncio.gather(*parts):
        out.extend(part if isinstance(part, list) else [part])
    return out


def _session(timeout_s: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))


async def doctor_checks(
    settings: Settings, run: RunFile | None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[CheckResult]:
    """Every check but `settings` (the caller loaded them), in a fixed order."""
    s, t = settings, timeout_s
    venue_fix = "start the venue or set venue.{}"
    async with _session(t) as http:
        parts: list[Awaitable[CheckResult | list[CheckResult]]] = [
            bounded("database", check_database(s.db), t, "start the database or set db.url"),
            bounded(
                "secrets.master_key", check_master_key(s), t, "restore the key file or set secrets.master_key"
            ),
            bounded("coord.redis", check_redis(s), t, "start Redis or set coord.redis_url"),
            bounded("venue.clob", check_clob(http, s.venue), t, venue_fix.format("clob_url")),
            bounded(
                "venue.data_api",
                check_http_surface(
                    http, "venue.data_api", s.venue.data_api_url, "/trades?limit=1", "venue.data_api_url"
                ),
                t,
                venue_fix.format("data_api_url"),
            ),
            bounded(
                "venue.gamma",
                check_http_surface(
                    http, "venue.gamma", s.venue.gamma_url, "/markets?limit=1", "venue.gamma_url"
                ),
                t,
                venue_fix.format("gamma_url"),
            ),
            bounded("venue.rtds", check_rtds(http, s.venue), t, venue_fix.format("rtds_ws_url")),
            # The head must be seen to move: its own, longer bound.
            bounded(
                "venue.chain_rpc", check_chain(s, t), t + HEAD_WAIT_S + 1, venue_fix.format("chain_rpc_url")
            ),
        ]
        for spec in run.followers if run is not None else ():
            parts.append(check_wallet(s, spec, t))
        parts.append(proxy_checks(s, run.followers if run is not None else (), t))
        return await _flatten(parts)


async def critical_checks(
    settings: Settings, run: RunFile, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[CheckResult]:
    """What `polyhunter run` needs before it starts: the database answers (it migrates it itself), the
    CLOB answers, and every own wallet signs in. A missing master key is raised as the
    `MasterKeyMissingError` the run would stop on, before anything else is tried."""
    s, t = settings, timeout_s
    try:
        problem = await asyncio.wait_for(master_key_problem(s), t)
    except TimeoutError:
        problem = None  # the database check below says why
    if problem is not None:
        raise problem
    async with _session(t) as http:
        parts: list[Awaitable[CheckResult | list[CheckResult]]] = [
            bounded("database", check_database(s.db, need_head=False), t, "start the database or set db.url"),
            bounded("venue.clob", check_clob(http, s.venue), t, "start the venue or set venue.clob_url"),
        ]
        parts.extend(check_wallet(s, spec, t, funds=False) for spec in run.followers)
        parts.extend(
            bounded(
                f"proxy.{spec.name}",
                check_proxy(s, spec, t),
                t * 3,
                "deploy the proxy: polyhunter proxy create",
            )
            for spec in run.followers
            if spec.custody is CustodyMode.PROXY
        )
        return await _flatten(parts)
