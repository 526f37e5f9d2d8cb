"""RTDS against the simulator: the client subscribes to both activity types that carry fills (``trades``
and ``orders_matched``, reported to replace it); the simulator publishes a leader's fill as both; the
filter counts each type and the mux keeps one signal (the same key from both)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from polyhunter.adapters.polymarket.rtds_client import RtdsClient
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux
from polyhunter.sim.orders import OrderRequest, OrderType
from polyhunter.sim.server_app import SimServer

pytestmark = pytest.mark.integration

LEADER = "0x" + "a1" * 20


async def test_a_fill_sent_as_both_types_is_counted_per_type_and_copied_once() -> None:
    accepted: list[Signal] = []

    async with SimServer("quiet", 3, 0, markets=1) as sim:
        metrics = IngestMetrics()
        mux = SignalMux("HYBRID", DedupSet(ttl_s=3_600), metrics, max_signal_age_s=900)
        gate = FrameFilter([LEADER], mux, metrics)
        client = RtdsClient(
            sim.urls["rtds_ws"], silence_timeout_ms=10_000, backoff_initial_ms=50, backoff_max_ms=200
        )

        def on_frame(raw: bytes) -> None:
            accepted.extend(gate(raw, datetime.now(UTC)))  # what the mux's gate let through

        task = asyncio.create_task(client.run(on_frame))
        try:
            for _ in range(200):  # subscribed (both types)
                if sim.state.rtds.subscriber_count:
                    break
                await asyncio.sleep(0.02)
            state = sim.state
            token = state.catalog[0].market.tokens[0]
            state.fund_collateral(LEADER, 10_000_000_000)
            result = state.submit(
                OrderRequest(
                    order_id="0x" + secrets.token_hex(32),
                    owner=LEADER,
                    token_id=token,
                    side=Side.BUY,
                    price=Decimal("0.99"),
                    size=5_000_000,
                    order_type=OrderType.FAK,
                )
            )
            assert result.success, result.error
            for _ in range(200):
                if sum(metrics.frames.by_type.values()) >= 2 and metrics.source(SourceKind.WS).duplicates:
                    break
                await asyncio.sleep(0.02)
        finally:
            client.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    fills = metrics.frames.by_type["trades"]  # the leader's and its makers' (other wallets)
    assert fills >= 1
    assert metrics.frames.by_type == {"trades": fills, "orders_matched": fills}
    ws = metrics.source(SourceKind.WS)
    assert ws.received == 2  # the leader's fill, as both types
    assert (ws.accepted, ws.duplicates) == (1, 1)  # one signal, whatever the types
    assert len(accepted) == 1
    assert accepted[0].leader == LEADER
