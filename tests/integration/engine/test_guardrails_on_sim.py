"""Every guardrail through the real engine and the simulator: a veto sends nothing to the venue and
leaves a guardrail event and a SKIPPED copy naming the rule; copies the rule allows do go out."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerLimits, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

L1, L2 = leader_address(1), leader_address(2)


def _run(followers: dict[str, list[tuple[str, dict[str, Any]]]]) -> tuple[RunFile, dict[str, str]]:
    """EOA followers by name: [(leader, copy spec fields)]; returns the run file and name -> address."""
    specs, addresses = [], {}
    for i, (name, copies) in enumerate(followers.items()):
        key, addresses[name] = follower_key("guard", i)
        specs.append(
            FollowerSpec(
                name=name,
                custody="EOA",
                private_key=SecretStr(key),
                copies=[CopySpec(leader=leader, **params) for leader, params in copies],
            )
        )
    return RunFile(followers=specs), addresses


FIXED3: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal(3)}


def _makers(orders: list[dict[str, Any]]) -> list[str]:
    return [str(o["order"]["maker"]).lower() for o in orders]


def _assert_veto(r: Rig, copy: dict[str, Any], rule: str) -> None:
    assert (copy["state"], copy["reason"]) == ("SKIPPED", f"GUARDRAIL_{rule}")
    events = [e for e in r.events() if e["copy_trade_id"] == copy["id"]]
    assert [(e["rule"], e["config_id"]) for e in events] == [(rule, copy["config_id"])]


async def test_per_trade_max_vetoes_only_the_big_copy(tmp_path: Path) -> None:
    run, addr = _run(
        {"big": [(L1, {"sizing": "FIXED_USDC", "sizing_value": Decimal(10)})], "small": [(L1, FIXED3)]}
    )
    async with rig(tmp_path, run, list(addr.values()), guardrails={"max_trade_usdc": Decimal(5)}) as r:
        big, small = await r.feed(await r.signal(L1))
        _assert_veto(r, big, "PER_TRADE_MAX")
        assert small["state"] == "EXECUTED"
        assert _makers(await r.orders()) == [addr["small"]]


async def test_user_daily_cap(tmp_path: Path) -> None:
    run, addr = _run({"u1": [(L1, FIXED3), (L2, FIXED3)], "u2": [(L1, FIXED3)]})
    limits = {"daily_user_cap_usdc": Decimal(8), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, list(addr.values()), guardrails=limits) as r:
        first = await r.feed(await r.signal(L1))
        second = await r.feed(await r.signal(L2, market=1))
        assert [c["state"] for c in first + second] == ["EXECUTED"] * 3
        assert len(await r.orders()) == 3
        u1, u2 = await r.feed(await r.signal(L1, market=2))  # u1 would reach ~9 USDC today: over its cap
        _assert_veto(r, u1, "USER_DAILY_CAP")
        assert u2["state"] == "EXECUTED"  # another user's cap is separate
        assert _makers(await r.orders())[3:] == [addr["u2"]]


async def test_global_daily_cap(tmp_path: Path) -> None:
    run, addr = _run({"u1": [(L1, FIXED3)], "u2": [(L2, FIXED3)]})
    limits = {"daily_user_cap_usdc": Decimal(1000), "global_daily_cap_usdc": Decimal(8)}
    async with rig(tmp_path, run, list(addr.values()), guardrails=limits) as r:
        assert [c["state"] for c in await r.feed(await r.signal(L1))] == ["EXECUTED"]
        assert [c["state"] for c in await r.feed(await r.signal(L2, market=1))] == ["EXECUTED"]
        before = await r.orders()
        (u1,) = await r.feed(await r.signal(L1, market=2))  # ~9 USDC platform-wide: over the global cap
        _assert_veto(r, u1, "GLOBAL_DAILY_CAP")
        assert await r.orders() == before


async def test_circuit_breaker_opens_after_failures_and_recovers_after_cooldown(tmp_path: Path) -> None:
    run, addr = _run({"u1": [(L1, FIXED3)]})
    async with rig(
        tmp_path,
        run,
        list(addr.values()),
        guardrails={"circuit_breaker_failures": 2, "circuit_breaker_cooldown_s": 1},
        engine={"quote_cache_ttl_ms": 600_000},  # the engine keeps pricing market 0 from its cached book
    ) as r:
        assert [c["state"] for c in await r.feed(await r.signal(L1))] == ["EXECUTED"]
        doomed = [await r.signal(L1) for _ in range(3)]
        # The venue refuses the next 4 orders (signed again once each: 2 copies). A closed market is no
        # longer a failure (its copies are SKIPPED MARKET_CLOSED), so refusals come from a fault.
        await r.faults({"order_version_mismatch": 4})
        for sig in doomed[:2]:  # two failures in a row
            (copy,) = await r.feed(sig)
            assert copy["state"] == "FAILED", copy
            statuses = rows(r.db, f"SELECT status FROM orders WHERE copy_trade_id = {copy['id']}")  # noqa: S608
            assert {o["status"] for o in statuses} == {"REJECTED"}
        assert len(await r.orders()) == 5
        (vetoed,) = await r.feed(doomed[2])
        _assert_veto(r, vetoed, "CIRCUIT_BREAKER")
        assert len(await r.orders()) == 5
        await asyncio.sleep(1.2)  # cooldown: half-open, one try goes out and succeeds, the breaker closes
        for _ in range(2):
            assert [c["state"] for c in await r.feed(await r.signal(L1, market=1))] == ["EXECUTED"]
        assert len(await r.orders()) == 7


async def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    run, addr = _run({"u1": [(L1, FIXED3)], "u2": [(L1, FIXED3), (L2, FIXED3)]})
    async with rig(tmp_path, run, list(addr.values()), guardrails={"dry_run": True}) as r:
        copies = await r.feed(await r.signal(L1)) + await r.feed(await r.signal(L2, market=1))
        assert len(copies) == 3
        for copy in copies:
            _assert_veto(r, copy, "DRY_RUN")
        assert await r.orders() == []


async def test_daily_caps_survive_a_restart(tmp_path: Path) -> None:
    """In-memory counters die with the process: a restart must start them from today's copies."""
    run, addr = _run({"u1": [(L1, FIXED3), (L2, FIXED3)]})
    limits = {"daily_user_cap_usdc": Decimal(8), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, list(addr.values()), guardrails=limits) as r:
        assert [c["state"] for c in await r.feed(await r.signal(L1))] == ["EXECUTED"]
        assert [c["state"] for c in await r.feed(await r.signal(L2, market=1))] == ["EXECUTED"]
        await r.restart()
        (copy,) = await r.feed(await r.signal(L1, market=2))  # ~9 USDC today: over the cap
        _assert_veto(r, copy, "USER_DAILY_CAP")
        assert len(await r.orders()) == 2


async def test_follower_limits_from_the_run_file(tmp_path: Path) -> None:
    """A follower's own [followers.limits] apply on top of the platform's: its daily cap and per-trade
    max veto its copies only; the platform's (looser) limits still govern the others."""
    specs, addresses = [], {}
    limits = {
        "capped": FollowerLimits(daily_cap_usdc=Decimal(4)),
        "small-trades": FollowerLimits(max_trade_usdc=Decimal(2)),
        "free": FollowerLimits(),
    }
    for i, (name, own) in enumerate(limits.items()):
        key, addresses[name] = follower_key("limits", i)
        copies = [CopySpec(leader=L1, **FIXED3)]
        specs.append(
            FollowerSpec(name=name, custody="EOA", private_key=SecretStr(key), limits=own, copies=copies)
        )
    platform = {"max_trade_usdc": Decimal(100), "daily_user_cap_usdc": Decimal(100)}
    async with rig(tmp_path, RunFile(followers=specs), list(addresses.values()), guardrails=platform) as r:
        first = await r.feed(await r.signal(L1))
        by_config = {f.config_ids[0]: f.spec.name for f in r.sup.followers}
        got = {by_config[c["config_id"]]: c for c in first}
        assert got["capped"]["state"] == got["free"]["state"] == "EXECUTED"
        _assert_veto(r, got["small-trades"], "PER_TRADE_MAX")
        second = {by_config[c["config_id"]]: c for c in await r.feed(await r.signal(L1, market=1))}
        _assert_veto(r, second["capped"], "USER_DAILY_CAP")  # ~3 + ~3 > its own 4 USDC
        assert second["free"]["state"] == "EXECUTED"
        assert sorted(_makers(await r.orders())) == sorted(
            [addresses["capped"], addresses["free"], addresses["free"]]
        )
