"""The read-side facade: /status, totals and stage latencies from the live objects, PnL per follower
through each custody type's equity, copy counts and guardrail events from the store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from polyhunter.app import App
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import OrderBook
from polyhunter.domain.states import GuardrailDecision
from polyhunter.engine.copy_records import EngineStats
from polyhunter.engine.lifecycle import LifecycleStats
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.paper import PaperAccount, PaperExecutor, PaperPosition
from polyhunter.execution.registry import CUSTODY, ValueContext
from polyhunter.queries import Queries
from polyhunter.runtime.equity import PositionsValue
from polyhunter.runtime.heap_trim import HeapTrimmer
from polyhunter.runtime.provision import Provisioned
from polyhunter.runtime.run_file import FollowerSpec
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.pnl_daily import PnlDay
from polyhunter.store.repos.guardrail_events import GuardrailEventRepository
from polyhunter.store.repos.wallets import WalletSecrets
from polyhunter.store.sessions import SessionFactory

TOKEN = "123"
TODAY = date(2026, 12, 6)


async def _no_book(token: str) -> OrderBook:
    raise LookupError(token)


async def _midpoint(token: str) -> Decimal | None:
    return Decimal("0.6") if token == TOKEN else None


def _follower(name: str, user_id: int) -> Provisioned:
    wallet = WalletSecrets(user_id, "0x" + "00" * 20, WalletKind.PAPER, user_id, 0, None, None, None)
    return Provisioned(
        FollowerSpec(name=name, custody=CustodyMode.PAPER, starting_cash_usdc=Decimal(100)),
        user_id,
        wallet,
        (),
    )


def _app(sessions: SessionFactory | None = None) -> App:
    paper = PaperExecutor(_no_book)
    paper.accounts[1] = PaperAccount(
        Decimal(90), Decimal(100), positions={TOKEN: PaperPosition(Decimal(20), Decimal(10))}
    )
    paper.accounts[2] = PaperAccount(Decimal(100), Decimal(100))
    executors: dict[CustodyMode, Any] = {CustodyMode.PAPER: paper}
    stats = EngineStats(signals=4, duplicates=1)
    stats.copies.update({"EXECUTED": 3, "SKIPPED": 2})
    metrics = StageMetrics()
    metrics.observe("signal_to_submit", 0.002)
    trimmer = HeapTrimmer(0)
    fake = SimpleNamespace(
        worker_id="host:1",
        engine=SimpleNamespace(stats=stats, metrics=metrics, paused={7: ("0x" + "ab" * 20, "NO_WALLET")}),
        ingest=SimpleNamespace(snapshot=lambda: {"mode": "HYBRID"}, recorded=7),
        sweeper=SimpleNamespace(stats=SimpleNamespace(expired=1, reconciled=2)),
        lifecycle=SimpleNamespace(stats=LifecycleStats(resolutions=2, redeemed=1)),
        heap_trimmer=trimmer,
        followers=[_follower("alice", 1), _follower("bob", 2)],
        positions=PositionsValue(executors, ValueContext(_no_book, _midpoint)),
        sessions=sessions,
        custody=CUSTODY,
        pnl=SimpleNamespace(
            today={1: PnlDay(TODAY, 1_500_000, 20_000, -250_000, 4_000_000)},
            status=lambda: {"writes": 3, "rows": 4, "last_error": None},
        ),
    )
    return cast(App, fake)


def test_status_and_live_counters() -> None:
    queries = Queries(_app())
    status = queries.status()
    assert status["worker"] == "host:1"
    assert (status["signals"], status["copies"], status["duplicates"]) == (
        4,
        {"EXECUTED": 3, "SKIPPED": 2},
        1,
    )
    assert status["ingest"] == {"mode": "HYBRID"}
    assert status["paused_configs"] == {"7": {"leader": "0x" + "ab" * 20, "reason": "NO_WALLET"}}
    assert status["sweeper"] == {"expired": 1, "reconciled": 2}
    assert (status["lifecycle"]["resolutions"], status["lifecycle"]["redeemed"]) == (2, 1)
    assert status["heap_trim"] == {
        "runs": 0,
        "released": 0,
        "last_ms": 0.0,
        "gc_collected": 0,
        "last_gc_ms": 0.0,
    }
    today = {"day": "2026-12-06", "realized": "1.5", "fees": "0.02", "unrealized": "-0.25", "invested": "4"}
    assert status["pnl_today"] == {
        "followers": {"alice": {**today, "total": "1.25"}},
        "writes": 3,
        "rows": 4,
        "last_error": None,
    }
    assert set(status["stages"]) == {"signal_to_submit"}
    assert queries.totals() == (4, 5)
    assert queries.signals_recorded() == 7
    stage = queries.stage("signal_to_submit")
    assert stage is not None
    assert stage.count == 1
    assert queries.stage("nothing") is None
    assert queries.follower_names() == {1: "alice", 2: "bob"}
    assert queries.follower_custody() == {"alice": "paper", "bob": "paper"}


async def test_pnl_per_follower_marks_paper_positions_at_the_midpoint() -> None:
    queries = Queries(_app())
    # alice: 90 cash + 20 shares at 0.6 = 102; bob: 100 cash
    assert await queries.pnl_per_follower() == {"alice": Decimal(2), "bob": Decimal(0)}
    assert await queries.pnl_per_follower(Decimal(50)) == {"alice": Decimal(52), "bob": Decimal(50)}
    assert await queries.equity(1) == Decimal(102)


async def test_copy_counts_and_guardrail_events_come_from_the_store(tmp_path: Path) -> None:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    try:
        sessions = create_session_factory(engine)
        async with unit_of_work(sessions) as session:
            events = GuardrailEventRepository(session)
            await events.record("daily_cap", GuardrailDecision.VETO, detail={"cap": "10"}, signal_key="s1")
            await events.record("max_trade", GuardrailDecision.VETO, signal_key="s2")
        queries = Queries(_app(sessions))
        assert await queries.copy_counts() == []
        assert await queries.paused_configs() == []
        assert await queries.recent_copies() == []
        nothing = await queries.pnl_today_per_follower()  # the daily series, empty: zeros per follower
        assert set(nothing) == {"alice", "bob"}
        assert nothing["bob"]["total"] == "0"
        newest, oldest = await queries.guardrail_events()
        assert (newest.rule, newest.signal_key, newest.decision) == ("max_trade", "s2", "VETO")
        assert (oldest.rule, oldest.detail) == ("daily_cap", {"cap": "10"})
        assert len(await queries.guardrail_events(limit=1)) == 1
    finally:
        await engine.dispose()
