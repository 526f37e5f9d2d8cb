"""Preflight through the real engine and the simulator's /balance-allowance: a follower that cannot pay
(balance) or has not approved the exchange (allowance) is SKIPPED with the reason, and nothing is sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.delay_proxy import DelayProxy
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import admin, follower_key

pytestmark = pytest.mark.integration

L1, L2 = leader_address(1), leader_address(2)
FIXED3: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal(3)}


def _run(names: list[str], **params: Any) -> tuple[RunFile, dict[str, str]]:
    specs, addresses = [], {}
    for i, name in enumerate(names):
        key, addresses[name] = follower_key("preflight", i)
        copy = CopySpec(leader=L1, **{**FIXED3, **params})
        specs.append(FollowerSpec(name=name, custody="EOA", private_key=SecretStr(key), copies=[copy]))
    return RunFile(followers=specs), addresses


def _states(r: Rig, copies: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    names = {f.config_ids[0]: f.spec.name for f in r.sup.followers}
    return {names[c["config_id"]]: (c["state"], c["reason"] or c["error"]) for c in copies}


def _makers(orders: list[dict[str, Any]]) -> list[str]:
    return [str(o["order"]["maker"]).lower() for o in orders]


async def test_buy_without_allowance_is_skipped_not_sent(tmp_path: Path) -> None:
    run, addr = _run(["approved", "unapproved", "too-little"])
    async with rig(tmp_path, run, list(addr.values())) as r:
        ledger = r.sim.state.engine.ledger
        ledger.approve(addr["unapproved"], 0)  # funded with 1000 USDC, but the exchange may take none
        ledger.approve(addr["too-little"], 2_000_000)  # 2 USDC allowed, the copy needs ~3
        got = _states(r, await r.feed(await r.signal(L1)))
        assert got == {
            "approved": ("EXECUTED", None),
            "unapproved": ("SKIPPED", "INSUFFICIENT_ALLOWANCE"),
            "too-little": ("SKIPPED", "INSUFFICIENT_ALLOWANCE"),
        }
        assert _makers(await r.orders()) == [addr["approved"]]


async def test_sell_without_token_approval_is_skipped_not_sent(tmp_path: Path) -> None:
    run, addr = _run(["approved", "unapproved"])
    async with rig(tmp_path, run, list(addr.values())) as r:
        bought = _states(r, await r.feed(await r.signal(L1)))  # both configs buy shares to sell later
        assert set(bought.values()) == {("EXECUTED", None)}
        r.sim.state.engine.ledger.set_ctf_approval(addr["unapproved"], False)
        before = len(await r.orders())
        got = _states(r, await r.feed(await r.signal(L1, side=Side.SELL, size=Decimal(20))))
        assert got == {"approved": ("EXECUTED", None), "unapproved": ("SKIPPED", "INSUFFICIENT_ALLOWANCE")}
        assert _makers((await r.orders())[before:]) == [addr["approved"]]


async def test_follower_without_enough_cash_is_skipped_not_sent(tmp_path: Path) -> None:
    run, addr = _run(["rich", "poor"], sizing_value=Decimal(30))
    async with rig(tmp_path, run, [addr["rich"]]) as r:
        await admin(
            r.http, r.sim.urls["admin"], "POST", "/fund", {"address": addr["poor"], "collateral": "20"}
        )
        got = _states(r, await r.feed(await r.signal(L1)))
        assert got == {"rich": ("EXECUTED", None), "poor": ("SKIPPED", "INSUFFICIENT_BALANCE")}
        assert _makers(await r.orders()) == [addr["rich"]]


async def test_known_fills_move_the_cached_funds_without_asking_the_venue(tmp_path: Path) -> None:
    """With a long preflight TTL the venue is asked once; each fill moves the cached cash itself, so
    the copy the remaining cash cannot pay is skipped here instead of being refused by the venue."""
    run, addr = _run(["u"])
    proxy = DelayProxy()
    async with rig(tmp_path, run, [], proxy, engine={"preflight_cache_ttl_ms": 600_000}) as r:
        await admin(r.http, r.sim.urls["admin"], "POST", "/fund", {"address": addr["u"], "collateral": "10"})
        states = []
        for market in (0, 1, 2, 0):
            (copy,) = await r.feed(await r.signal(L1, market))
            states.append((copy["state"], copy["reason"]))
        assert states == [("EXECUTED", None)] * 3 + [("SKIPPED", "INSUFFICIENT_BALANCE")]
        assert proxy.requests["/balance-allowance"] == 1
        assert len(await r.orders()) == 3


async def test_concurrent_copies_of_one_follower_never_overspend(tmp_path: Path) -> None:
    """Two leaders' signals at once for a follower that can pay one copy: while the first order is in
    flight (its answer held by the proxy), the second sees the first's hold and is skipped."""
    key, address = follower_key("preflight", 9)
    copies = [CopySpec(leader=leader, **FIXED3) for leader in (L1, L2)]
    run = RunFile(
        followers=[FollowerSpec(name="u", custody="EOA", private_key=SecretStr(key), copies=copies)]
    )
    proxy = DelayProxy(hold_after_s=0.5)
    async with rig(tmp_path, run, [], proxy) as r:
        await admin(r.http, r.sim.urls["admin"], "POST", "/fund", {"address": address, "collateral": "5"})
        first, second = await r.signal(L1), await r.signal(L2, market=1)
        await asyncio.gather(r.sup.engine.handle([first]), r.sup.engine.handle([second]))
        assert await r.sup.engine.drain(60) == 0
        got = sorted((c["state"], c["reason"]) for c in r.copies(first.key) + r.copies(second.key))
        assert got == [("EXECUTED", None), ("SKIPPED", "INSUFFICIENT_BALANCE")]
        assert len(await r.orders()) == 1
