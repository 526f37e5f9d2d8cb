"""The venue moves to another exchange version mid-run (the simulator's admin ``POST /version``): the
first order signed for the old version is refused with ``order_version_mismatch`` (nothing placed), the
own-wallet executor re-reads ``GET /version``, signs again and resends once, and keeps signing for the
new version. A second mismatch on the same copy fails it with a clear error."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import admin, follower_key

pytestmark = pytest.mark.integration

L1 = leader_address(1)


def _run_file(name: str) -> tuple[RunFile, str]:
    key, address = follower_key(name, 0)
    follower = FollowerSpec(
        name=name,
        custody="EOA",
        private_key=SecretStr(key),
        copies=[CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))],
    )
    return RunFile(followers=[follower]), address


async def test_version_switch_mid_run_re_signs_once_and_orders_keep_being_accepted(tmp_path: Path) -> None:
    run, address = _run_file("cutover")
    async with rig(tmp_path, run, [address]) as r:
        (first,) = await r.feed(await r.signal(L1))
        assert first["state"] == "EXECUTED", first
        assert await admin(r.http, r.sim.urls["admin"], "POST", "/version", {"version": 3}) == {"version": 3}

        (second,) = await r.feed(await r.signal(L1))
        assert second["state"] == "EXECUTED", second
        assert r.eoa.order_version == 3
        orders = await r.orders()
        assert [(o["accepted"], o.get("error") or None) for o in orders[1:]] == [
            (False, "order_version_mismatch"),
            (True, None),
        ], orders
        assert second["venue_order_id"] == orders[2]["orderID"]

        (third,) = await r.feed(await r.signal(L1))  # signed for version 3 straight away
        assert third["state"] == "EXECUTED", third
        assert [o["accepted"] for o in await r.orders()] == [True, False, True, True]


async def test_a_second_mismatch_fails_the_copy_with_a_clear_error(tmp_path: Path) -> None:
    run, address = _run_file("stubborn")
    async with rig(tmp_path, run, [address]) as r:
        await r.faults({"order_version_mismatch": 2})
        (copy,) = await r.feed(await r.signal(L1))
        assert copy["state"] == "FAILED", copy
        assert "order_version_mismatch" in copy["error"]
        assert "signed again" in copy["error"]
        assert [o["accepted"] for o in await r.orders()] == [False, False]  # resent once, not more

        (after,) = await r.feed(await r.signal(L1))  # the fault is used up: the next copy goes through
        assert after["state"] == "EXECUTED", after
