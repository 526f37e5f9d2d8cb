"""The intake's backpressure: sources wait for a slot when `signals_in_flight` are in the engine; the
waits, the occupancy and its high-water mark are counted, exported to Prometheus and shown by /health."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry, generate_latest

from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.engine.intake import Intake
from polyhunter.engine.intake_metrics import export_intake
from polyhunter.health import CheckStatus, queue_check


def _signal(i: int) -> Signal:
    now = datetime.now(UTC)
    return Signal(
        key=f"k{i}",
        leader="0x" + "ab" * 20,
        asset=str(i),  # one token each: nothing orders them but the slots
        condition_id="0x" + "cd" * 32,
        side=Side.BUY,
        size=Decimal(10),
        price=Decimal("0.5"),
        tx_hash="0x" + f"{i:064x}",
        fill_time=now,
        seen_at=now,
        source=SourceKind.WS,
    )


async def test_a_full_intake_holds_the_source_and_counts_the_wait() -> None:
    release = asyncio.Event()

    async def prepare(signal: Signal, _scope: object) -> str:
        return signal.key

    async def execute(_key: str) -> None:
        await release.wait()

    intake: Intake[str] = Intake(prepare, execute, signals_in_flight=2)
    p = intake.pressure
    check = queue_check(lambda: intake.executing, 2, p, recent_s=60)
    assert (await check.result()).status is CheckStatus.OK

    await intake.accept(_signal(1))
    await intake.accept(_signal(2))
    assert (p.occupancy, p.max_occupancy, p.waits) == (2, 2, 0)
    third = asyncio.create_task(intake.accept(_signal(3)))
    await asyncio.sleep(0.05)
    assert not third.done()  # the source waits: backpressure
    assert p.waiting == 1
    result = await check.result()
    assert result.status is CheckStatus.DEGRADED
    assert "1 waiting" in result.detail
    assert "backpressure applied" in result.detail

    release.set()
    await third
    await intake.drain(5)
    assert (p.occupancy, p.max_occupancy, p.waiting, p.waits) == (0, 2, 0, 1)
    assert p.wait_s >= 0.04
    # the wait was recent: still reported, with the time sources waited
    result = await check.result()
    assert result.status is CheckStatus.DEGRADED
    assert "sources waited 0." in result.detail
    assert not p.applied_within(0.0)

    registry = CollectorRegistry()
    export_intake(registry, p)
    text = generate_latest(registry).decode()
    assert "polyhunter_engine_intake_occupancy 0.0" in text
    assert "polyhunter_engine_intake_max_occupancy 2.0" in text
    assert "polyhunter_engine_intake_limit 2.0" in text
    assert "polyhunter_engine_backpressure_wait_seconds_count 1.0" in text
