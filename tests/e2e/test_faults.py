"""Fault tests (issue 13 item 5): `polyhunter run` against `polyhunter sim` (leaders fill on their own,
before, during and after the fault), two followers with daily caps (one EOA signing real orders at the
simulator, one PAPER), a PostgreSQL database of the test's own (on the shared server through a TCP
proxy that can stall it, or on a cluster of the test's own that it stops), and a Redis of its own.

(a) the database is out for 15 s mid-run: it stalls (stops answering), or its server is stopped and
started again; (b) Redis stops and comes back empty mid-run; (c) two supervisors share the database
and the Redis dedup, and one is SIGKILLed while its database is out (stalled, or the server stopped):
its dedup keys are only claims, they expire and the other supervisor records the fills.
After each: every fill the simulator made for the leaders has its signal row (0 lost), no (signal,
config) has two copies, no order reached the venue twice (and no copy filled by two orders), and no
follower spent past its daily cap.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.support.fault_stack import (
    assert_clean,
    check_run,
    engine_env,
    fill_rows,
    leader_fills,
    pg_rows,
    pg_url,
    recorded,
    run_file_text,
    shared_dsn,
    sim_process,
    start_engine,
    wait_for,
)
from tests.support.own_postgres import OwnPostgres
from tests.support.own_redis import OwnRedis, free_port
from tests.support.pg_databases import create_pg_database, drop_pg_database
from tests.support.processes import stop_async_process
from tests.support.tcp_proxy import StallingTcpProxy

pytestmark = pytest.mark.integration

OUTAGE_S = 15
RECORD_S = 120  # bound on the wait for every fill to be recorded once the fault is over


@dataclass
class _Outage:
    """A database fault the test begins and ends. "stall": the database stops answering one supervisor
    (its connections go through a proxy that stops forwarding; the second one's do not); "stop": the
    test's own PostgreSQL server is stopped (connections cut, new ones refused) and started again."""

    kind: str
    dsn: str  # the test's own reads, never stalled
    urls: tuple[str, str]  # the database URL of supervisor A and of supervisor B
    begin: Callable[[], Awaitable[None]]
    end: Callable[[], Awaitable[None]]


@asynccontextmanager
async def _outage(kind: str) -> AsyncIterator[_Outage]:
    if kind == "stop":
        server = OwnPostgres()
        try:
            await server.start()
            await server.create_database("faults")
            dsn = f"postgresql://127.0.0.1:{server.port}/faults"
            url = server.url("faults")
            yield _Outage(kind, dsn, (url, url), server.stop, server.start)
        finally:
            await asyncio.to_thread(server.close)
        return
    name = await asyncio.to_thread(create_pg_database)
    proxies = StallingTcpProxy("127.0.0.1", 5432), StallingTcpProxy("127.0.0.1", 5432)
    try:
        for proxy in proxies:
            await proxy.start()

        async def pause() -> None:
            proxies[0].pause()

        async def resume() -> None:
            proxies[0].resume()

        urls = pg_url(proxies[0].port, name), pg_url(proxies[1].port, name)
        yield _Outage(kind, shared_dsn(name), urls, pause, resume)
    finally:
        for proxy in proxies:
            await proxy.stop()
        await asyncio.to_thread(drop_pg_database, name)


async def _scenario(urls: dict[str, str], run_file: Path) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(urls["admin"] + "/scenario") as resp:
        leaders = [leader["address"] for leader in (await resp.json())["leaders"]]
    await asyncio.to_thread(run_file.write_text, run_file_text(leaders))
    return leaders


async def _signals(db: str) -> int:
    return int((await pg_rows(db, "SELECT count(*) AS n FROM signals"))[0]["n"])


async def _all_recorded(
    db: str, urls: dict[str, str], leaders: list[str], before: set[Any]
) -> tuple[set[Any], float]:
    """The leaders' fills from the engine's start (`before`: those made before it followed them) up to
    now, once every one of them has its signal row (bounded wait)."""
    fills = await leader_fills(urls["data_api"], leaders) - before

    async def done() -> bool:
        return fills <= await recorded(db)

    try:
        took = await wait_for(done, RECORD_S, "every leader fill recorded")
    except AssertionError:
        missing = fills - await recorded(db)
        txs = {m[1] for m in missing}
        detail = [
            (r["transactionHash"][:10], r["side"], r["size"], r["timestamp"])
            for r in await fill_rows(urls["data_api"], leaders)
            if r["transactionHash"].lower() in txs
        ]
        raise AssertionError(
            f"{len(missing)} of {len(fills)} leader fills never recorded: {detail}"
        ) from None
    return fills, took


async def _more_fills(urls: dict[str, str], leaders: list[str], than: int, limit_s: float = 60) -> None:
    async def more() -> bool:
        return len(await leader_fills(urls["data_api"], leaders)) >= than

    await wait_for(more, limit_s, f"{than} leader fills at the simulator")


async def _stop(proc: asyncio.subprocess.Process, log: Path) -> None:
    code = await stop_async_process(proc, timeout_s=30)
    assert code == 0, f"engine exit {code}; see {log}"


@pytest.mark.timeout(400)
@pytest.mark.parametrize("kind", ["stall", "stop"])
async def test_database_out_for_15s_mid_run_loses_nothing(tmp_path: Path, kind: str) -> None:
    async with _outage(kind) as db:
        with sim_process(tmp_path, seed=31 if kind == "stall" else 34, rate=1.5) as urls:
            leaders = await _scenario(urls, tmp_path / "run.toml")
            log = tmp_path / "engine.log"
            proc = await start_engine(tmp_path / "run.toml", engine_env(urls, db.urls[0]), log)
            followed_from = await leader_fills(urls["data_api"], leaders)
            try:
                await wait_for(lambda: _more_signals(db.dsn, 5), 90, "5 signals before the outage")
                before = len(await leader_fills(urls["data_api"], leaders))
                await db.begin()
                began = time.monotonic()
                await _more_fills(urls, leaders, before + 5)  # fills keep coming while it is out
                await wait_for(lambda: _elapsed(began, OUTAGE_S), OUTAGE_S + 5, "the outage")
                await db.end()
                after = len(await leader_fills(urls["data_api"], leaders))
                await _more_fills(urls, leaders, after + 10)  # and after it
                fills, took = await _all_recorded(db.dsn, urls, leaders, followed_from)
            finally:
                await _stop(proc, log)
            report = await check_run(db.dsn, fills, urls["admin"])
            print(f"(a) db {kind} {OUTAGE_S}s: {report.line()} recorded_within={took:.1f}s")  # noqa: T201
            assert_clean(report)


@pytest.mark.timeout(400)
async def test_redis_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    server = OwnRedis(free_port(), tmp_path)
    await server.start()
    try:
        async with _outage("stall") as db:  # (never stalled here)
            with sim_process(tmp_path, seed=32, rate=1.5) as urls:
                leaders = await _scenario(urls, tmp_path / "run.toml")
                log = tmp_path / "engine.log"
                env = engine_env(urls, db.urls[0], (server.url, "phfault"))
                proc = await start_engine(tmp_path / "run.toml", env, log)
                followed_from = await leader_fills(urls["data_api"], leaders)
                try:
                    await wait_for(lambda: _more_signals(db.dsn, 5), 90, "5 signals before the Redis stop")
                    before = len(await leader_fills(urls["data_api"], leaders))
                    server.stop()
                    await _more_fills(urls, leaders, before + 5)
                    await server.start()  # back, empty: dedup keys and counters are gone
                    after = len(await leader_fills(urls["data_api"], leaders))
                    await _more_fills(urls, leaders, after + 10)
                    fills, took = await _all_recorded(db.dsn, urls, leaders, followed_from)
                finally:
                    await _stop(proc, log)
                report = await check_run(db.dsn, fills, urls["admin"])
                print(f"(b) redis restart: {report.line()} recorded_within={took:.1f}s")  # noqa: T201
                assert_clean(report)
    finally:
        server.stop()


async def _claims(url: str, prefix: str) -> int:
    """Shared dedup keys that are claims, not final (what the killed supervisor held)."""
    client = Redis.from_url(url)
    try:
        n = 0
        async for key in client.scan_iter(match=f"{prefix}:*seen:sig:*", count=1000):
            value = await client.get(key)
            n += isinstance(value, bytes) and value.startswith(b"c:")
        return n
    finally:
        await client.aclose()


@pytest.mark.timeout(400)
@pytest.mark.parametrize("kind", ["stall", "stop"])
async def test_sigkill_while_the_database_is_out_loses_nothing(tmp_path: Path, kind: str) -> None:
    """Two supervisors share the database and the Redis dedup; supervisor A's database goes out (a
    stall of its connections only, or the server stopped for both) and A is SIGKILLed while its
    hand-offs wait for it. A stall ends at once (A's prewrite, held by the proxy, can reach the
    database after A's death, as PENDING rows it never reserved: their sweep rebuilds the counters
    from the store rather than giving back what was never held); a stopped server after 15 s."""
    server = OwnRedis(free_port(), tmp_path)
    await server.start()
    prefix = f"phkill-{uuid.uuid4().hex[:6]}"
    try:
        async with _outage(kind) as db:
            with sim_process(tmp_path, seed=33 if kind == "stall" else 35, rate=2) as urls:
                run_file = tmp_path / "run.toml"
                leaders = await _scenario(urls, run_file)
                log_a, log_b = tmp_path / "engine-a.log", tmp_path / "engine-b.log"
                env_a = engine_env(urls, db.urls[0], (server.url, prefix))
                proc_a = await start_engine(run_file, env_a, log_a)
                followed_from = await leader_fills(urls["data_api"], leaders)
                env_b = engine_env(urls, db.urls[1], (server.url, prefix))
                proc_b = await start_engine(run_file, env_b, log_b)
                try:
                    await wait_for(lambda: _more_signals(db.dsn, 5), 90, "5 signals before the outage")
                    before = len(await leader_fills(urls["data_api"], leaders))
                    await db.begin()
                    began = time.monotonic()
                    await _more_fills(urls, leaders, before + 6)
                    held = await _claims(server.url, prefix)
                    proc_a.kill()  # SIGKILL while its hand-offs wait on the database
                    await proc_a.wait()
                    out_s = OUTAGE_S if kind == "stop" else 0
                    await wait_for(lambda: _elapsed(began, out_s), out_s + 5, "the outage")
                    await db.end()
                    after = len(await leader_fills(urls["data_api"], leaders))
                    await _more_fills(urls, leaders, after + 6)
                    fills, took = await _all_recorded(db.dsn, urls, leaders, followed_from)
                finally:
                    if proc_a.returncode is None:
                        proc_a.kill()
                        await proc_a.wait()
                    await _stop(proc_b, log_b)
                report = await check_run(db.dsn, fills, urls["admin"])
                line = f"{report.line()} claims_held_at_kill={held} recorded_within={took:.1f}s"
                print(f"(c) SIGKILL during db {kind}: {line}")  # noqa: T201
                assert_clean(report)
    finally:
        server.stop()


async def _more_signals(db: str, than: int) -> bool:
    return await _signals(db) >= than


async def _elapsed(since: float, seconds: float) -> bool:
    return time.monotonic() - since >= seconds
