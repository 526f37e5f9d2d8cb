"""Isolation on the real store (SQLite): a follower removed from the run file has its config
deactivated at provisioning and gets no copy of the next signal; a config that still reaches the
engine without a wallet (a removed follower's, active by a bug) or with a poison size is paused with
the reason while the signal, BUY or SELL, is recorded with every other config's copy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.eoa import EoaExecutor
from polyhunter.ports.venue import Executor
from polyhunter.runtime.provision import provision
from polyhunter.runtime.run_file import load_run_file
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings, EngineSettings
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.models import CopyConfigVersion, CopyTrade, SignalRecord
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.sessions import SessionFactory
from tests.support.engine_inputs import fill_signal
from tests.support.fake_venue import FakeExecutor, FakeMarketData, a_book

pytestmark = pytest.mark.integration

LEADER = "0x" + "ab" * 20
TOKEN = "123"
CONDITION = "0x" + "cd" * 32
ALICE = """
[[followers]]
name = "alice"
custody = "PAPER"
  [[followers.copies]]
  leader = "{leader}"
  sizing = "FIXED_USDC"
  sizing_value = "5"
"""
BOB = """
[[followers]]
name = "bob"
custody = "EOA"
private_key_env = "BOB_KEY"
  [[followers.copies]]
  leader = "{leader}"
  sizing = "FIXED_USDC"
  sizing_value = "5"
"""


@dataclass
class World:
    sessions: SessionFactory
    box: SecretBox
    tmp: Path

    async def provision(self, *followers: str) -> dict[str, int]:
        """Provision a run file with `followers`; {name: config id}."""
        path = self.tmp / "run.toml"
        path.write_text("".join(f.format(leader=LEADER) for f in followers))
        done = await provision(self.sessions, self.box, load_run_file(path))
        return {p.spec.name: p.config_ids[0] for p in done}

    def engine(self) -> CopyEngine:
        """An engine as the supervisor builds it for the run file: bob has no wallet in it."""
        limits = GuardrailLimits(Decimal(1000), Decimal(5000), Decimal(100_000))
        pricer = Pricer(
            FakeMarketData({TOKEN: a_book(TOKEN)}), quote_ttl_ms=500, max_entries=100, fallback_ttl_ms=10_000
        )
        executors: dict[CustodyMode, Executor] = {
            CustodyMode.PAPER: FakeExecutor(),
            CustodyMode.EOA: EoaExecutor({}, chain_id=137),
        }
        return CopyEngine(
            SqlCopyStore(self.sessions),
            pricer,
            executors,
            Guard(MemoryCoordinator(), limits, 5, 300_000),
            EngineSettings(),
            StageMetrics(),
            "engine-1",
        )

    async def copies(self, signal: Signal) -> dict[int, tuple[CopyTradeState, str | None]]:
        async with self.sessions() as s:
            recorded = await s.scalar(select(SignalRecord.key).where(SignalRecord.key == signal.key))
            assert recorded == signal.key, "the signal was not recorded"
            rows = (await s.scalars(select(CopyTrade).where(CopyTrade.signal_key == signal.key))).all()
        return {r.config_id: (r.state, r.reason or r.error) for r in rows}

    async def set_active(self, config_id: int) -> None:
        async with unit_of_work(self.sessions) as s:
            await CopyConfigRepository(s).set_active(config_id, True)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("BOB_KEY", "0x" + "11" * 32)
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    try:
        yield World(create_session_factory(engine), SecretBox(generate_master_key()), tmp_path)
    finally:
        await engine.dispose()


def a_signal(side: Side) -> Signal:
    return fill_signal(LEADER, TOKEN, CONDITION, side)


async def test_a_follower_removed_from_the_run_file_stops_copying(world: World) -> None:
    ids = await world.provision(ALICE, BOB)
    again = await world.provision(ALICE)  # bob removed
    assert again == {"alice": ids["alice"]}
    async with world.sessions() as s:
        configs = CopyConfigRepository(s)
        bob, alice = await configs.get(ids["bob"]), await configs.get(ids["alice"])
    assert bob is not None
    assert alice is not None
    assert (alice.active, bob.active) == (True, False)

    engine = world.engine()
    engine.leaders.seed(LEADER, TOKEN, Decimal(100))
    buy, sell = a_signal(Side.BUY), a_signal(Side.SELL)
    await engine.process_signal(buy)
    await engine.process_signal(sell)
    assert set(await world.copies(buy)) == {ids["alice"]}  # no copy for bob
    assert set(await world.copies(sell)) == {ids["alice"]}  # and the SELL is recorded

    await world.provision(ALICE, BOB)  # back in the run file: copying again
    async with world.sessions() as s:
        back = await CopyConfigRepository(s).get(ids["bob"])
    assert back is not None
    assert back.active


async def test_a_config_with_no_wallet_is_paused_and_the_sell_still_records(world: World) -> None:
    ids = await world.provision(ALICE, BOB)
    await world.provision(ALICE)
    await world.set_active(ids["bob"])  # a bug (or another process) left bob's config active
    engine = world.engine()
    engine.leaders.seed(LEADER, TOKEN, Decimal(100))
    buy = a_signal(Side.BUY)
    await engine.process_signal(buy)
    copies = await world.copies(buy)
    assert copies[ids["alice"]][0] is CopyTradeState.EXECUTED
    assert copies[ids["bob"]][0] is CopyTradeState.FAILED
    sell = a_signal(Side.SELL)
    await engine.process_signal(sell)
    copies = await world.copies(sell)
    assert copies[ids["bob"]] == (CopyTradeState.SKIPPED, "CONFIG_PAUSED")
    assert ids["alice"] in copies
    async with world.sessions() as s:
        (paused,) = await CopyConfigRepository(s).paused()
    assert (paused.config_id, paused.username) == (ids["bob"], "bob")
    assert paused.reason.startswith("NO_WALLET: ")


async def test_a_poison_size_is_paused_and_the_signal_records(world: World) -> None:
    """FIXED_USDC 1e15: a micro-USDC amount past BIGINT, which made the prewrite of the whole signal
    fail before (every follower of the leader lost the signal)."""
    ids = await world.provision(ALICE, BOB.replace('sizing_value = "5"', 'sizing_value = "6"'))
    engine = world.engine()
    (poisoned, _bob) = await engine.configs_for(LEADER)
    object.__setattr__(poisoned.config, "sizing_value", Decimal("1e15"))  # past the domain's checks
    buy = a_signal(Side.BUY)
    await engine.process_signal(buy)
    copies = await world.copies(buy)
    assert copies[ids["alice"]] == (CopyTradeState.SKIPPED, "CONFIG_PAUSED")
    assert copies[ids["bob"]][0] is CopyTradeState.FAILED  # no wallet in this engine: paused too
    async with world.sessions() as s:
        reasons = {p.config_id: p.reason for p in await CopyConfigRepository(s).paused()}
    assert reasons[ids["alice"]].startswith("SIZE_OUT_OF_RANGE: ")


async def test_a_stored_config_that_no_longer_reads_is_paused_and_the_others_copy(world: World) -> None:
    """A poison value in the database (sizing_value 1e27, refused by the domain's checks): reading the
    leader's configs leaves that one out and pauses it; the signal records with the other's copy."""
    ids = await world.provision(ALICE, BOB)
    async with unit_of_work(world.sessions) as s:
        await s.execute(
            update(CopyConfigVersion)
            .where(CopyConfigVersion.config_id == ids["bob"])
            .values(sizing_params={"value": "1e27"})
        )
    engine = world.engine()
    buy = a_signal(Side.BUY)
    await engine.process_signal(buy)
    copies = await world.copies(buy)
    assert copies == {ids["alice"]: (CopyTradeState.EXECUTED, None)}
    async with world.sessions() as s:
        (paused,) = await CopyConfigRepository(s).paused()
    assert paused.config_id == ids["bob"]
    assert paused.reason.startswith("BAD_CONFIG: ValueError: sizing_value")
