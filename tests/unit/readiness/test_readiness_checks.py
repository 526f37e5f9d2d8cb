"""The doctor's checks without a venue: how a result prints, timeouts, the database check, the
largest copy a wallet must cover, and the verdict on balances and allowances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from polyhunter.domain.orders import Funds
from polyhunter.readiness.checks import CheckResult, Status, bounded, failed, passed, skipped
from polyhunter.readiness.infra import chain_used, check_database
from polyhunter.readiness.venue import check_clob, check_http_surface
from polyhunter.readiness.wallets import _funds_result, needed_usdc
from polyhunter.runtime.run_file import FollowerSpec
from polyhunter.settings import DbSettings, Settings, VenueSettings
from polyhunter.store import migrate

LEADER = "0x" + "ab" * 20
FUNDER = "0x" + "cd" * 20


def test_a_result_prints_as_one_line_with_its_fix_only_when_failed() -> None:
    line = failed(
        "venue.clob", "unreachable (connection refused at http://127.0.0.1:1234)", "start the venue"
    )
    assert line.line() == (
        "✗ venue.clob: unreachable (connection refused at http://127.0.0.1:1234) — fix: start the venue"
    )
    assert passed("database", "at 0003").line() == "✓ database: at 0003"
    assert skipped("coord.redis", "memory").line() == "- coord.redis: memory"
    assert failed("a", "b", "c").to_json() == {"name": "a", "status": "fail", "reason": "b", "fix": "c"}


async def test_a_check_that_does_not_answer_fails_at_its_timeout() -> None:
    async def never() -> CheckResult:
        await asyncio.sleep(60)
        raise AssertionError

    async def broken() -> CheckResult:
        raise RuntimeError("boom")

    loop = asyncio.get_running_loop()
    start = loop.time()
    slow, bad = await asyncio.gather(bounded("x", never(), 0.2, "fix x"), bounded("y", broken(), 1, "fix y"))
    assert loop.time() - start < 2
    assert (slow.status, slow.reason, slow.fix) == (Status.FAIL, "no answer within 0.2 s", "fix x")
    assert (bad.status, bad.reason) == (Status.FAIL, "RuntimeError: boom")


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A host that accepts connections and never answers (a hung venue)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_a_hung_venue_is_a_failed_check_within_the_timeout(silent_server: str) -> None:
    venue = VenueSettings(clob_url=silent_server, data_api_url=silent_server)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as http:
        clob, data = await asyncio.gather(
            bounded("venue.clob", check_clob(http, venue), 0.3, "start the venue"),
            bounded(
                "venue.data_api",
                check_http_surface(http, "venue.data_api", silent_server, "/trades", "venue.data_api_url"),
                0.3,
                "start the venue",
            ),
        )
    assert clob.status is Status.FAIL
    assert data.status is Status.FAIL


async def test_a_refused_connection_names_the_url_and_the_setting() -> None:
    async with aiohttp.ClientSession() as http:
        result = await check_clob(http, VenueSettings(clob_url="http://127.0.0.1:1"))
    assert result.line() == (
        "✗ venue.clob: unreachable (connection refused at http://127.0.0.1:1/time)"
        " — fix: start the venue or set venue.clob_url"
    )


async def test_the_database_check_wants_the_newest_migration(tmp_path: Path) -> None:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'ph.db'}")
    missing = await check_database(db)
    assert missing.status is Status.FAIL
    assert "polyhunter db upgrade" in missing.fix
    assert not (tmp_path / "ph.db").exists()  # the doctor makes nothing
    assert (await check_database(db, need_head=False)).status is Status.PASS  # `run` migrates itself
    await migrate.upgrade(db, "0001")
    behind = await check_database(db)
    assert behind.status is Status.FAIL
    assert f"newest is {migrate.head_revision()}" in behind.reason
    await migrate.upgrade(db)
    assert (await check_database(db)).status is Status.PASS


def test_the_chain_is_checked_when_a_node_is_set() -> None:
    assert not chain_used(Settings())  # no node by default: the chain source does not run
    assert not chain_used(Settings.model_validate({"ingest": {"chain_in_hybrid": False}}))
    assert not chain_used(Settings.model_validate({"ingest": {"mode": "WS_ONLY"}}))
    assert chain_used(Settings.model_validate({"venue": {"chain_rpc_url": "http://x"}}))
    assert chain_used(Settings.model_validate({"venue": {"chain_rpc_urls": ["http://x"]}}))
    assert chain_used(
        Settings.model_validate({"ingest": {"mode": "WS_ONLY"}, "venue": {"chain_rpc_url": "http://x"}})
    )


def _follower(**limits: str) -> FollowerSpec:
    return FollowerSpec.model_validate(
        {
            "name": "alice",
            "limits": limits,
            "copies": [
                {"leader": LEADER, "sizing": "FIXED_USDC", "sizing_value": "5", "max_trade_usdc": "20"},
                {"leader": "0x" + "ef" * 20, "sizing": "FIXED_USDC", "sizing_value": "5"},
            ],
        }
    )


def test_the_largest_copy_is_bounded_by_every_per_trade_cap() -> None:
    assert needed_usdc(_follower(), Decimal(1000)) == Decimal(1000)  # the uncapped copy: platform max
    assert needed_usdc(_follower(max_trade_usdc="50"), Decimal(1000)) == Decimal(50)
    assert needed_usdc(_follower(max_trade_usdc="10"), Decimal(1000)) == Decimal(10)
    assert needed_usdc(_follower(), Decimal(15)) == Decimal(15)


def test_funds_need_a_balance_and_both_allowances() -> None:
    spec, need = _follower(), Decimal(20)
    assert _funds_result("f", spec, FUNDER, Funds(Decimal(0), None, None), need).reason.startswith(
        "balance 0"
    )
    short = _funds_result("f", spec, FUNDER, Funds(Decimal(100), Decimal(100), Decimal(5)), need)
    assert short.status is Status.FAIL
    assert "neg-risk exchange 5 USDC" in short.reason
    assert "CTF" not in short.reason
    ok = _funds_result("f", spec, FUNDER, Funds(Decimal(100), Decimal("1e60"), None), need)
    assert ok.status is Status.PASS
    assert "unlimited / not reported" in ok.reason


async def test_an_unreachable_database_fails_without_showing_its_password(tmp_path: Path) -> None:
    db = DbSettings(url="postgresql+asyncpg://ph:s3cret@127.0.0.1:1/ph")
    for need_head in (True, False):
        result = await check_database(db, need_head=need_head)
        assert result.status is Status.FAIL
        assert result.reason.startswith("unreachable (postgresql+asyncpg://ph:***@127.0.0.1:1/ph")
        assert "s3cret" not in result.line()
    migrated = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'ph.db'}")
    await migrate.upgrade(migrated)
    answers = await check_database(migrated, need_head=False)
    assert answers.status is Status.PASS
    assert "SELECT 1" in answers.reason
