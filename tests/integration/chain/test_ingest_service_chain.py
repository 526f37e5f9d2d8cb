"""The CHAIN source inside the IngestService on a real anvil: a failed hand-off (the engine's write timed
out) neither stops the service nor loses the fill, and a handed-on fill that a re-org removes is
counted, exported and passed to the owner's ``on_retract``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.settings import Settings
from polyhunter.sim.chain_mirror import ChainMirror, MirrorMatch
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.chain_matches import TOKENS, address, order_hash

pytestmark = pytest.mark.integration


def _match(rng: random.Random, leader: str, shares: int) -> MirrorMatch:
    return MirrorMatch(order_hash(rng), leader, Side.BUY, TOKENS[0], shares // 2, shares, [])


async def until(cond: Callable[[], bool], timeout_s: float = 15.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)


async def test_service_survives_a_failed_chain_hand_off_and_surfaces_a_retraction(
    anvil_url: str, rpc: JsonRpcClient, mirror: ChainMirror, tmp_path: Path
) -> None:
    settings = Settings.model_validate(
        {
            "db": {"url": f"sqlite+aiosqlite:///{tmp_path}/chain.db"},
            "venue": {"chain_rpc_url": anvil_url, "chain_id": 31337},
            "ingest": {"mode": "CHAIN_ONLY", "chain_poll_interval_ms": 50},
        }
    )
    await upgrade(settings.db)
    engine = create_engine(settings.db)
    rng = random.Random(31)
    leader = address(rng)
    got: list[Signal] = []
    failures = [TimeoutError("QueuePool limit reached")]
    retracted: list[Signal] = []

    async def sink(signals: list[Signal]) -> None:
        if failures:
            raise failures.pop()
        got.extend(signals)

    async def on_retract(signal: Signal) -> None:
        retracted.append(signal)

    clients = IngestClients.from_settings(settings)
    service = IngestService(
        settings,
        [leader],
        create_session_factory(engine),
        sink,
        clients=clients,
        extra_exchanges=[mirror.address],
        on_retract=on_retract,
        sink_records=True,  # as the supervisor runs it: the engine records the signal with its copies
    )
    chain = service.chain
    assert chain is not None
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: chain.cursor is not None)
        snapshot = await rpc.call("evm_snapshot")
        doomed_tx = await mirror.emit_match(_match(rng, leader, 4_000_000))
        await until(lambda: bool(got))
        assert not task.done()  # the failed hand-off did not end the service
        assert [s.tx_hash for s in got] == [doomed_tx]  # and the fill was handed on by the retry
        assert service.metrics.source(SourceKind.CHAIN).handoff_failures == 1
        assert await rpc.call("evm_revert", [snapshot]) is True
        replacement_tx = await mirror.emit_match(_match(rng, leader, 6_000_000))
        await until(lambda: bool(retracted) and len(got) == 2)
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clients.close()
        await engine.dispose()
    assert [s.tx_hash for s in got] == [doomed_tx, replacement_tx]
    assert [s.tx_hash for s in retracted] == [doomed_tx]
    assert service.metrics.source(SourceKind.CHAIN).retracted == 1
    assert service.snapshot()["chain"]["retracted"] == 1  # type: ignore[index]
    text = generate_latest(service.metrics.registry).decode()
    assert 'polyhunter_ingest_retracted_total{source="chain"} 1.0' in text
