"""The daily caps survive Redis losing its counters (issue 13 item 4): two followers with a 60 USDC
daily cap copy through the real engine, the simulator and a real Redis; mid-run the deployment's keys
are deleted (what a flush or a restart without persistence does), or a Redis server of the test's own
is stopped and started again, and more signals arrive. Neither follower spends past its cap: the sum
of its BUY copies that spend (PENDING, EXECUTED by what filled, SETTLEMENT_PENDING) stays <= 60."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerLimits, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.own_redis import OwnRedis, free_port
from tests.support.redis_prefixes import delete_keys
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

LEADER = leader_address(1)
CAP = Decimal(60)
COPY = Decimal(7)  # 8 copies reach 56; a 9th would pass the cap
GUARDRAILS: dict[str, Any] = {
    "daily_user_cap_usdc": Decimal(1000),
    "global_daily_cap_usdc": Decimal(100_000),
    "max_trade_usdc": Decimal(100),
}


def _run() -> tuple[RunFile, list[str]]:
    specs, addresses = [], []
    for i, name in enumerate(("a", "b")):
        key, address = follower_key("durable-caps", i)
        addresses.append(address)
        specs.append(
            FollowerSpec(
                name=name,
                custody="EOA",
                private_key=SecretStr(key),
                limits=FollowerLimits(daily_cap_usdc=CAP),
                copies=[CopySpec(leader=LEADER, sizing="FIXED_USDC", sizing_value=COPY)],
            )
        )
    return RunFile(followers=specs), addresses


def spent_per_user(r: Rig) -> dict[int, Decimal]:
    """What each user committed today by the database's record (as `CopyStore.spent_today` counts)."""
    found = rows(
        r.db,
        "SELECT user_id, SUM(CASE WHEN state = 'EXECUTED' AND filled_size_micro IS NOT NULL "
        "THEN filled_size_micro * filled_price_micro / 1000000 ELSE requested_notional_micro END) AS spent "
        "FROM copy_trades WHERE side = 'BUY' "
        "AND state IN ('PENDING', 'EXECUTED', 'SETTLEMENT_PENDING') GROUP BY user_id",
    )
    return {int(f["user_id"]): Decimal(int(f["spent"])) / 1_000_000 for f in found}


async def feed_buys(r: Rig, count: int) -> list[dict[str, Any]]:
    copies: list[dict[str, Any]] = []
    for n in range(count):
        copies += await r.feed(await r.signal(LEADER, n % 3))
    return copies


def assert_within_caps(r: Rig) -> dict[int, Decimal]:
    spent = spent_per_user(r)
    assert len(spent) == 2, spent
    for user, total in spent.items():
        assert total <= CAP, f"user {user} spent {total} > cap {CAP}"
    return spent


async def test_deleting_the_counters_mid_run_does_not_reopen_the_caps(tmp_path: Path) -> None:
    run, addresses = _run()
    url, prefix = "redis://127.0.0.1:6379/0", f"phtest-caps-{uuid.uuid4().hex[:8]}"
    coord = {"backend": "redis", "redis_url": url, "key_prefix": prefix}
    async with rig(tmp_path, run, addresses, guardrails=GUARDRAILS, coord=coord) as r:
        first = await feed_buys(r, 8)  # 8 x 7 = 56 each
        assert [c["state"] for c in first] == ["EXECUTED"] * 16, first
        assert await delete_keys(url, prefix) > 0  # Redis came back empty
        after = await feed_buys(r, 6)
        assert {(c["state"], c["reason"]) for c in after} == {("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")}
        spent = assert_within_caps(r)
        assert all(total > CAP - COPY for total in spent.values())  # they did spend up to their caps
        assert r.sup.engine.guard.reseeds >= 1


async def test_a_redis_restart_mid_run_does_not_reopen_the_caps(tmp_path: Path) -> None:
    run, addresses = _run()
    server = OwnRedis(free_port(), tmp_path)
    coord = {"backend": "redis", "redis_url": server.url, "key_prefix": "phtest-caps"}
    # while the server is down each copy is vetoed after the guard's retries (about 3 s)
    await server.start()
    try:
        async with rig(tmp_path, run, addresses, guardrails=GUARDRAILS, coord=coord) as r:
            first = await feed_buys(r, 8)
            assert [c["state"] for c in first] == ["EXECUTED"] * 16, first
            sent = len(await r.orders())
            server.stop()  # Redis stops: nothing is known about today's spend
            down = await r.feed(await r.signal(LEADER, 0))
            vetoed = ("SKIPPED", "GUARDRAIL_COUNTERS_UNAVAILABLE")
            assert {(c["state"], c["reason"]) for c in down} == {vetoed}, down
            await server.start()  # ... and comes back empty
            after = await feed_buys(r, 6)
            assert {(c["state"], c["reason"]) for c in after} == {("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")}
            assert_within_caps(r)
            assert len(await r.orders()) == sent  # nothing went to the venue past the caps
    finally:
        server.stop()
