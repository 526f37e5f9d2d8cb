"""The read side of a running PolyHunter, in one facade: what the API's /status, the demo's live view
and summary, the supervisor and the CLI report. Live counters come from the engine, ingestion and the
sweeper through their public attributes; stored history through `store.reports`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.signal import from_micro
from polyhunter.engine.stage_metrics import StageStats
from polyhunter.ports.sources import SourceHealth
from polyhunter.store import reports
from polyhunter.store.database import unit_of_work
from polyhunter.store.pnl_daily import PnlDay, SqlDailyPnl
from polyhunter.store.reports import CopyCount, GuardrailEventRow, PausedConfig, RecentCopy
from polyhunter.store.repos.settlements import SettlementRepository

if TYPE_CHECKING:
    from polyhunter.app import App

PNL_QUANTUM = Decimal("0.0001")


def _pnl_day(row: PnlDay) -> dict[str, str]:
    return {
        "day": row.day.isoformat(),
        "realized": str(from_micro(row.realized_micro)),
        "fees": str(from_micro(row.fees_micro)),
        "unrealized": str(from_micro(row.unrealized_micro)),
        "invested": str(from_micro(row.invested_micro)),
        "total": str(from_micro(row.total_micro)),
    }


class Queries:
    def __init__(self, app: App) -> None:
        self._app = app

    def status(self) -> dict[str, Any]:
        """The /status document: worker, engine counters and stage latencies, ingestion, sweeper, heap trim."""
        app = self._app
        trimmer = app.heap_trimmer
        return {
            "worker": app.worker_id,
            "signals": app.engine.stats.signals,
            "copies": dict(app.engine.stats.copies),
            "duplicates": app.engine.stats.duplicates,
            # configs paused by an operator-needed error (as last read or paused by this engine)
            "paused_configs": {
                str(config_id): {"leader": leader, "reason": reason}
                for config_id, (leader, reason) in sorted(app.engine.paused.items())
            },
            "stages": app.engine.metrics.summary(),
            "ingest": app.ingest.snapshot(),
            "sweeper": {"expired": app.sweeper.stats.expired, "reconciled": app.sweeper.stats.reconciled},
            "lifecycle": dataclasses.asdict(app.lifecycle.stats),
            # today's PnL per follower from the daily series, as last written (runtime/pnl_writer.py)
            "pnl_today": self._pnl_today_status(),
            "heap_trim": {
                "runs": trimmer.runs,
                "released": trimmer.released,
                "last_ms": round(trimmer.last_ms, 3),
                "gc_collected": trimmer.collected,
                "last_gc_ms": round(trimmer.last_gc_ms, 3),
            },
        }

    def _pnl_today_status(self) -> dict[str, Any]:
        pnl = self._app.pnl
        if pnl is None:
            return {}
        names = self.follower_names()
        return {
            "followers": {
                names.get(user_id, str(user_id)): _pnl_day(row) for user_id, row in sorted(pnl.today.items())
            },
            **pnl.status(),
        }

    async def pnl_today_per_follower(self) -> dict[str, dict[str, str]]:
        """Each follower's PnL today by name, from the stored daily series (USDC): realized (net of
        fees), fees, unrealized at the current marks, invested, and total."""
        today = datetime.now(UTC).date()
        stored = await SqlDailyPnl(self._app.sessions).day_by_user(today)
        return {
            f.spec.name: _pnl_day(stored.get(f.user_id, PnlDay(today, 0, 0, 0, 0)))
            for f in self._app.followers
        }

    def totals(self) -> tuple[int, int]:
        """(signals handled, copies made) since start."""
        stats = self._app.engine.stats
        return stats.signals, sum(stats.copies.values())

    def signals_recorded(self) -> int:
        return self._app.ingest.recorded

    def ingest(self) -> dict[str, Any]:
        return self._app.ingest.snapshot()

    def source_health(self) -> dict[str, SourceHealth]:
        """The health of each ingestion source this process runs, by source kind (`WS`, `POLL`, ...)."""
        ingest = self._app.ingest
        return {kind.value: ingest.metrics.health(kind) for kind in ingest.sources}

    def stage(self, name: str) -> StageStats | None:
        """A pipeline stage's latency statistics (e.g. `signal_to_submit`), if it has any."""
        return self._app.engine.metrics.snapshot().get(name)

    def follower_names(self) -> dict[int, str]:
        return {f.user_id: f.spec.name for f in self._app.followers}

    def config_leaders(self) -> dict[int, str]:
        """The leader each copy config of this run follows, by config id."""
        return {
            config_id: copy.leader
            for f in self._app.followers
            for config_id, copy in zip(f.config_ids, f.spec.copies, strict=True)
        }

    def follower_custody(self) -> dict[str, str]:
        """Each follower's custody as its custody type names it (`paper`, `own wallet`), by name."""
        return {f.spec.name: self._app.custody.get(f.spec.custody).label for f in self._app.followers}

    async def copy_counts(self) -> list[CopyCount]:
        """Stored copy trades by (state, reason)."""
        return await reports.copy_counts(self._app.sessions)

    async def recent_copies(self, limit: int = 20) -> list[RecentCopy]:
        return await reports.recent_copies(self._app.sessions, limit)

    async def paused_configs(self) -> list[PausedConfig]:
        """Every paused config in the store, with its follower, leader and reason (resume with
        `polyhunter config resume ID`)."""
        return await reports.paused_configs(self._app.sessions)

    async def guardrail_events(self, limit: int = 20) -> list[GuardrailEventRow]:
        return await reports.guardrail_events(self._app.sessions, limit)

    async def equity(self, user_id: int) -> Decimal:
        """A follower's equity (cash and positions at current marks), as its custody type values it."""
        f = next(f for f in self._app.followers if f.user_id == user_id)
        return await self._app.positions.equity(f.spec.custody, user_id)

    async def realized_per_follower(self) -> dict[str, dict[str, Any]]:
        """Each follower's fees and resolved markets by name (USDC): fees paid, markets redeemed (and
        still pending), payouts and the realized PnL of the redeemed markets."""
        stored = await reports.realized_by_user(self._app.sessions)
        out: dict[str, dict[str, Any]] = {}
        for f in self._app.followers:
            row = stored.get(f.user_id, reports.Realized())
            out[f.spec.name] = {
                "fees": str(from_micro(row.fees_micro)),
                "redeemed_markets": row.redeemed_markets,
                "pending_markets": row.pending_markets,
                "payout": str(from_micro(row.payout_micro)),
                "realized_pnl": str(from_micro(row.realized_pnl_micro)),
            }
        return out

    async def proxy_ledgers(self) -> dict[str, dict[str, Any]]:
        """Each PROXY follower's settlement and ledger by name: its proxy, copies settled on chain and still
        queued, what its proxy reimbursed the fleet, received from SELLs, paid in commission, and still owes."""
        out: dict[str, dict[str, Any]] = {}
        for f in self._app.followers:
            if f.spec.custody is not CustodyMode.PROXY:
                continue
            async with unit_of_work(self._app.sessions) as session:
                ledger = await SettlementRepository(session).ledger(f.user_id)
            out[f.spec.name] = {
                "proxy": f.wallet.address,
                # PROXY, or DIRECT (the exchange settles its fills: only the commission is settled; nothing
                # reimbursed, no proceeds)
                "mode": f.spec.custody_name,
                "copies": await self._executed_copies(f.user_id),
                "settled": ledger.settled,
                "pending": ledger.queued,
                "reimbursed": str(from_micro(ledger.reimbursed_micro)),
                "proceeds": str(from_micro(ledger.proceeds_micro)),
                "commission": str(from_micro(ledger.commission_micro)),
                "open_debt": str(from_micro(ledger.open_debt_micro)),
            }
        return out

    async def _executed_copies(self, user_id: int) -> int:
        async with unit_of_work(self._app.sessions) as session:
            return await SettlementRepository(session).executed_copies(user_id)

    async def pnl_per_follower(self, starting_cash: Decimal | None = None) -> dict[str, Decimal]:
        """Each follower's PnL in USDC by name: equity less `starting_cash` (default: the follower's
        `starting_cash_usdc`)."""
        pnl: dict[str, Decimal] = {}
        for f in self._app.followers:
            start = f.spec.starting_cash_usdc if starting_cash is None else starting_cash
            equity = await self._app.positions.equity(f.spec.custody, f.user_id)
            pnl[f.spec.name] = (equity - start).quantize(PNL_QUANTUM)
        return pnl
