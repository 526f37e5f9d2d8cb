"""The simulator mirrors its matches on anvil: the CHAIN source and the Data API give a leader's fills the same keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.polymarket.parse_signals import signals_from_activity
from polyhunter.adapters.polymarket.wire_data_api import decode_activity
from polyhunter.domain.signal import Side, Signal
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.sim.orders import OrderType
from polyhunter.sim.server_app import SimServer

pytestmark = pytest.mark.integration

LEADER = "0x" + "1e" * 20
COUNTERPARTY = "0x" + "c0" * 20


async def _chain_signals(rpc: JsonRpcClient, exchange: str, count: int) -> list[Signal]:
    source = ChainLogSource(
        rpc,
        exchanges=[exchange],
        leaders=[LEADER],
        cursor_store=MemoryCursorStore(),
        poll_interval_ms=50,
        start_block=0,
    )
    out: list[Signal] = []
    try:
        iterator = source.signals()
        while len(out) < count:
            out.append(await asyncio.wait_for(anext(iterator), 20))
        assert await source.poll_once() == 0  # nothing more
    finally:
        await source.close()
    return out


async def test_chain_and_data_api_keys_agree(anvil_url: str) -> None:
    async with SimServer(scenario="quiet", seed=9, port=0, chain_rpc=anvil_url, mined_delay_s=0.01) as sim:
        agents = sim.runner.agents
        token = sim.state.catalog[0].market.tokens[0]
        bid, ask = sim.state.engine.best_bid_ask(token)
        assert bid is not None
        assert ask is not None
        agents.ensure_cash(LEADER, 500_000_000)
        agents.ensure_cash(COUNTERPARTY, 500_000_000)
        # leader takes liquidity (buy, then sell part back) and rests an order that the counterparty takes
        assert agents.submit(LEADER, token, Side.BUY, ask, 20_000_000, OrderType.FAK).status == "matched"
        assert agents.submit(LEADER, token, Side.SELL, bid, 5_000_000, OrderType.FAK).status == "matched"
        inside = ask - Decimal(
            "0.01"
        )  # better than every other ask, so the counterparty hits the leader first
        assert inside > bid
        resting = agents.submit(LEADER, token, Side.SELL, inside, 7_000_000, OrderType.GTC)
        assert resting.status == "live", resting
        assert (
            agents.submit(COUNTERPARTY, token, Side.BUY, inside, 3_000_000, OrderType.FAK).status == "matched"
        )
        await sim.state.settle(timeout_s=30)
        exchange = sim.mirror_address  # the settling exchange (the first log of a match is a transfer)
        assert exchange is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(sim.urls["data_api"] + "/activity", params={"user": LEADER, "limit": "500"}) as resp,
        ):
            assert resp.status == 200
            rows = decode_activity(await resp.read())
    polled = signals_from_activity(rows, datetime.now(UTC))
    assert len(polled) >= 3
    async with JsonRpcClient(anvil_url) as rpc:
        receipt = await rpc.get_transaction_receipt(polled[0].tx_hash)
        assert receipt is not None
        assert exchange in {str(entry["address"]).lower() for entry in receipt["logs"]}
        chained = await _chain_signals(rpc, exchange, len(polled))
    assert {s.key for s in chained} == {s.key for s in polled}
    by_key = {s.key: s for s in polled}
    for signal in chained:
        twin = by_key[signal.key]
        assert (signal.leader, signal.asset, signal.side, signal.size) == (
            twin.leader,
            twin.asset,
            twin.side,
            twin.size,
        )
        assert abs(signal.price - twin.price) < Decimal("0.0001")
    assert any(
        s.side is Side.SELL and s.size == 3 for s in chained
    )  # the resting order's fill, leader as maker
