"""Engine modes through the real engine and the simulator: FAK orders (fill what the book has within
the budget, where FOK skips), and bounded fan-out concurrency (at most `fanout_concurrency` copies of
one signal have an order in flight at once)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.delay_proxy import DelayProxy
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

L1 = leader_address(1)


def _followers(n: int, tag: str, **params: Any) -> tuple[RunFile, list[str]]:
    specs, addresses = [], []
    for i in range(n):
        key, address = follower_key(tag, i)
        addresses.append(address)
        copy = CopySpec(leader=L1, **params)
        specs.append(FollowerSpec(name=f"{tag}{i}", custody="EOA", private_key=SecretStr(key), copies=[copy]))
    return RunFile(followers=specs), addresses


@pytest.mark.parametrize("order_type", ["FOK", "FAK"])
async def test_a_copy_bigger_than_the_book_within_budget(tmp_path: Path, order_type: str) -> None:
    """600 shares wanted, 500 at the best ask and a zero slippage budget: FOK cannot fill it whole and
    skips without sending; FAK takes the 500 and the copy is EXECUTED for what filled."""
    async with rig(
        tmp_path / "probe", _followers(1, "probe", sizing="FIXED_USDC", sizing_value=Decimal(1))[0], []
    ) as probe:
        token = probe.token(0)
        best = await probe.best_ask(token)
        at_best = next(
            Decimal(a["size"]) for a in (await probe.book(token))["asks"] if Decimal(a["price"]) == best
        )
    wanted = at_best + 100
    run, addresses = _followers(
        1, order_type, sizing="FIXED_USDC", sizing_value=wanted * best, max_slippage_bps=0
    )
    async with rig(tmp_path, run, addresses, engine={"order_type": order_type}) as r:
        (copy,) = await r.feed(await r.signal(L1, price=best))
        if order_type == "FOK":
            assert (copy["state"], copy["reason"]) == ("SKIPPED", "SLIPPAGE_EXCEEDED")
            assert await r.orders() == []
        else:
            assert copy["state"] == "EXECUTED", copy
            assert Decimal(copy["requested_size_micro"]) / 1_000_000 == wanted
            filled = Decimal(copy["filled_size_micro"]) / 1_000_000
            assert at_best - 1 < filled <= at_best  # what the best level had (less the USDC rounding)
            (order,) = await r.orders()
            assert order["orderType"] == "FAK"


async def test_fanout_concurrency_bounds_orders_in_flight(tmp_path: Path) -> None:
    run, addresses = _followers(6, "fanout", sizing="FIXED_USDC", sizing_value=Decimal(2))
    proxy = DelayProxy(hold_after_s=0.25)  # each order's answer is held: the copies overlap in flight
    async with rig(tmp_path, run, addresses, proxy, engine={"fanout_concurrency": 2}) as r:
        copies = await r.feed(await r.signal(L1))
        assert [c["state"] for c in copies] == ["EXECUTED"] * 6
        assert proxy.forwarded_orders == 6
        assert proxy.max_orders_in_flight == 2
