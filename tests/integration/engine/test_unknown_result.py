"""An order whose submit result is unknown: the venue accepted it but the client timed out first.

The engine reaches the simulator's CLOB through a local proxy that holds POST /order longer than the
client's request timeout. (The simulator's own latency fault cannot do this: it waits before reading
the request, so an order whose client gave up is dropped, never accepted.)

* held before forwarding: the executor's immediate lookup finds nothing yet, the copy stays PENDING
  (never resubmitted) and the sweep reconciles it to EXECUTED from the venue's record of that exact
  order, in the same process (the executor remembers the hash) and after a restart (the hash comes
  from the `orders` table, written before the POST);
* held after forwarding: the executor's immediate lookup already finds the match: EXECUTED at once.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.orders import ExecutionResult, OrderRequest
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.delay_proxy import DelayProxy
from tests.support.engine_rig import Rig, Sections, leader_address, rig
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
TTL_S = 1
TIMEOUT_MS = 400
HOLD_S = 1.5


def _run_file() -> tuple[RunFile, str]:
    key, address = follower_key("unknown", 0)
    follower = FollowerSpec(
        name="slow",
        custody="EOA",
        private_key=SecretStr(key),
        copies=[CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))],
    )
    return RunFile(followers=[follower]), address


SETTINGS: Sections = {
    "venue": {"request_timeout_ms": TIMEOUT_MS, "max_retries": 0},
    "engine": {"pending_ttl_s": TTL_S, "expiry_scan_interval_ms": 200},
}


def _copy(r: Rig, copy_id: int) -> dict[str, Any]:
    (row,) = rows(
        r.db,
        "SELECT c.state, c.config_id, c.venue_order_id, c.filled_size_micro, o.venue_order_id AS recorded, "
        "o.status "
        f"FROM copy_trades c JOIN orders o ON o.copy_trade_id = c.id WHERE c.id = {copy_id}",  # noqa: S608
    )
    return row


async def _unknown_copy(r: Rig, proxy: DelayProxy) -> tuple[int, str]:
    """Feed one signal while POST /order is held past the client timeout; return the copy id and the
    hash recorded before posting, once the venue has matched that order."""
    (copy,) = await r.feed(await r.signal(L1))
    assert copy["state"] == "PENDING", copy  # the result is unknown: nothing decided yet
    assert r.sup.engine.stats.unknown == 1
    recorded = _copy(r, copy["id"])["recorded"]
    assert proxy.forwarded_orders == 0
    await asyncio.sleep(HOLD_S + 0.3)  # the proxy forwards the held order: the venue matches it
    (order,) = await r.orders()
    assert (order["orderID"], order["accepted"], order["status"]) == (recorded, True, "matched")
    return int(copy["id"]), str(recorded)


async def _swept_executed(r: Rig, copy_id: int, order_hash: str) -> dict[str, Any]:
    """Once its time to live passed, the sweep reconciles the copy: EXECUTED with the venue's order, MATCHED."""
    await asyncio.sleep(TTL_S)
    assert await r.sup.sweeper.sweep_once() == 1
    done = _copy(r, copy_id)
    assert (done["state"], done["venue_order_id"], done["status"]) == ("EXECUTED", order_hash, "MATCHED")
    return done


async def test_timed_out_order_is_reconciled_by_the_sweep_not_resent(tmp_path: Path) -> None:
    run, address = _run_file()
    proxy = DelayProxy(hold_before_s=HOLD_S)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        copy_id, order_hash = await _unknown_copy(r, proxy)
        done = await _swept_executed(r, copy_id, order_hash)
        assert done["filled_size_micro"] > 0
        assert r.sup.sweeper.stats.reconciled == 1
        assert len(await r.orders()) == 1  # reconciled, never sent again
        # the reconciled fill counts in the config's holding (sell mirroring) as an observed one does
        config_id = _copy(r, copy_id)["config_id"]
        held = r.sup.engine.exposure.shares(config_id, r.token(0))
        assert held * 1_000_000 == done["filled_size_micro"]


async def test_timed_out_order_is_reconciled_after_a_restart(tmp_path: Path) -> None:
    run, address = _run_file()
    proxy = DelayProxy(hold_before_s=HOLD_S)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        copy_id, order_hash = await _unknown_copy(r, proxy)
        await r.restart()  # a new process: the executor no longer remembers the hash
        await _swept_executed(r, copy_id, order_hash)
        assert len(await r.orders()) == 1


async def test_immediate_lookup_finds_an_order_matched_before_the_timeout(tmp_path: Path) -> None:
    run, address = _run_file()
    proxy = DelayProxy(hold_after_s=HOLD_S)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        (copy,) = await r.feed(await r.signal(L1))
        assert r.sup.engine.stats.unknown == 0
        done = _copy(r, copy["id"])
        assert (done["state"], done["venue_order_id"], done["status"]) == (
            "EXECUTED",
            done["recorded"],
            "MATCHED",
        )
        (order,) = await r.orders()
        assert (order["orderID"], order["status"]) == (done["recorded"], "matched")


async def test_order_record_gone_is_reconciled_from_the_trades(tmp_path: Path) -> None:
    """The venue no longer answers for the order itself (404): the sweep finds its fill in the trade
    records instead of expiring a copy that did fill."""
    run, address = _run_file()
    proxy = DelayProxy(hold_before_s=HOLD_S, hide_orders=True)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        copy_id, order_hash = await _unknown_copy(r, proxy)
        done = await _swept_executed(r, copy_id, order_hash)
        venue = r.sim.state.engine.order(order_hash)  # what the venue itself matched of that order
        assert venue is not None
        assert done["filled_size_micro"] == venue.size_matched > 0
        assert proxy.requests["/data/trades"] >= 1


async def test_immediate_lookup_uses_the_trades_when_the_order_record_is_gone(tmp_path: Path) -> None:
    run, address = _run_file()
    proxy = DelayProxy(hold_after_s=HOLD_S, hide_orders=True)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        (copy,) = await r.feed(await r.signal(L1))
        assert r.sup.engine.stats.unknown == 0
        done = _copy(r, copy["id"])
        assert (done["state"], done["venue_order_id"]) == ("EXECUTED", done["recorded"])


async def test_order_the_venue_never_saw_expires(tmp_path: Path) -> None:
    """The control: a 503 before the order reaches the matching engine leaves nothing to reconcile."""
    run, address = _run_file()
    async with rig(tmp_path, run, [address], **SETTINGS) as r:
        await r.faults({"rate_5xx": {"clob:/order": 1}})
        (copy,) = await r.feed(await r.signal(L1))
        assert copy["state"] == "PENDING"
        await r.faults({"clear": True})
        await asyncio.sleep(TTL_S)
        assert await r.sup.sweeper.sweep_once() == 1
        done = _copy(r, copy["id"])
        assert (done["state"], done["status"]) == ("EXPIRED", "UNMATCHED")
        assert await r.orders() == []  # the fault answered before the venue recorded anything


async def test_expired_copy_gives_back_its_daily_reservation(tmp_path: Path) -> None:
    """An unknown result keeps its notional reserved against the daily cap until it is known; when the
    sweep finds the venue never saw the order, the reservation comes back (nothing was spent)."""
    run, address = _run_file()
    limits = {"daily_user_cap_usdc": Decimal(4), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, [address], guardrails=limits, **SETTINGS) as r:
        await r.faults({"rate_5xx": {"clob:/order": 1}})
        (lost,) = await r.feed(await r.signal(L1))
        assert lost["state"] == "PENDING"
        await r.faults({"clear": True})
        await asyncio.sleep(TTL_S)
        assert await r.sup.sweeper.sweep_once() == 1
        assert _copy(r, lost["id"])["state"] == "EXPIRED"
        (copy,) = await r.feed(await r.signal(L1, market=1))  # ~3 USDC: fits the 4 USDC cap again
        assert copy["state"] == "EXECUTED", copy


async def test_the_reconcile_request_carries_the_stored_order(tmp_path: Path) -> None:
    """The sweep asks about the order as it was signed: the signal's condition id, the limit and size of
    the recorded order, the token's tick size and neg-risk flag (not a hard-coded 0.01 / False / "")."""
    run, address = _run_file()
    proxy = DelayProxy(hold_before_s=HOLD_S)
    async with rig(tmp_path, run, [address], proxy, **SETTINGS) as r:
        signal = await r.signal(L1)
        (copy,) = await r.feed(signal)
        assert copy["state"] == "PENDING"
        executor = r.eoa
        asked: list[OrderRequest] = []
        real = executor.reconcile

        async def spy(request: OrderRequest) -> ExecutionResult | None:
            asked.append(request)
            return await real(request)

        executor.reconcile = spy  # type: ignore[method-assign]
        await asyncio.sleep(HOLD_S + TTL_S)
        assert await r.sup.sweeper.sweep_once() == 1
        (request,) = asked
        (order,) = rows(
            r.db, f"SELECT price_micro, size_micro FROM orders WHERE copy_trade_id = {copy['id']}"
        )  # noqa: S608
        book = await r.book(signal.asset)
        assert request.condition_id == signal.condition_id != ""
        assert (request.limit_price, request.shares) == (
            Decimal(order["price_micro"]) / 1_000_000,
            Decimal(order["size_micro"]) / 1_000_000,
        )
        assert (request.tick_size, request.neg_risk) == (Decimal(book["tick_size"]), bool(book["neg_risk"]))
        assert _copy(r, copy["id"])["state"] == "EXECUTED"
