"""The PROXY settlement queue and the money rows around it: fleet workers, settlements, reimbursements,
commissions and debts. Every amount is integer base units; every movement on chain leaves a row here.

A copy filled by a fleet worker is recorded ``SETTLEMENT_PENDING`` with one ``settlements`` row (QUEUED)
in the same transaction: the row's collateral is what moves between the worker and the proxy (a BUY's cost
with the venue's taker fee, a SELL's proceeds less it), its fee the platform's commission; the copy keeps the
gross notional and, as fees, the venue's fee plus the commission. A flush marks a batch SUBMITTED with its transaction hash before it is sent; once
the transaction is confirmed the batch is SETTLED, each copy EXECUTED, and the reimbursement (BUY), the
commission and, when the proxy could not pay it all, a debt are written, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.commission import Position
from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.store.enums import DebtStatus, ReimbursementStatus, SettlementStatus
from polyhunter.store.models import (
    CommissionLog,
    CopyConfig,
    CopyTrade,
    DebtRecord,
    ReimbursementEntry,
    Wallet,
)
from polyhunter.store.models.settlement import FleetWorker, SettlementRow
from polyhunter.store.repos.sql_helpers import rowcount


@dataclass(frozen=True, slots=True)
class FleetWorkerRow:
    wallet_id: int
    address: str
    float_limit_micro: int
    paused: bool


@dataclass(frozen=True, slots=True)
class NewSettlement:
    copy_trade_id: int
    user_id: int
    proxy_address: str
    worker_wallet_id: int
    side: Side
    asset: str
    shares_micro: int
    collateral_micro: int  # BUY: the worker's cost with the venue fee; SELL: the proceeds less it
    fee_micro: int  # the platform's commission
    cost_basis_micro: int | None = None
    filled_price_micro: int = 0
    venue_fee_micro: int = 0  # the venue's taker fee the worker paid (inside collateral_micro)
    commission_only: bool = False  # DIRECT: only ``fee_micro`` moves (proxy -> treasury)

    @property
    def notional_micro(self) -> int:
        """The fill's gross notional (venue fee excluded)."""
        if self.side is Side.BUY:
            return self.collateral_micro - self.venue_fee_micro
        return self.collateral_micro + self.venue_fee_micro


@dataclass(frozen=True, slots=True)
class Paid:
    """What one settlement moved on chain (less than owed when the proxy was short)."""

    collateral_micro: int
    fee_micro: int


@dataclass(frozen=True, slots=True)
class Ledger:
    """One user's proxy as the store sees it: every movement since its deposits."""

    reimbursed_micro: int  # proxy -> workers (BUY costs, debts collected)
    proceeds_micro: int  # workers -> proxy (SELLs)
    commission_micro: int  # proxy -> treasury
    open_debt_micro: int
    queued: int  # settlements not settled yet
    settled: int = 0  # settlements settled on chain


class SettlementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- fleet ----------------------------------------------------------------------------------------

    async def add_worker(self, wallet_id: int, float_limit_micro: int) -> None:
        await self._s.execute(
            insert(FleetWorker).values(wallet_id=wallet_id, float_limit_micro=float_limit_micro, paused=False)
        )

    async def set_worker_paused(self, address: str, paused: bool) -> bool:
        wallet_id = await self._s.scalar(select(Wallet.id).where(Wallet.address == address.lower()))
        if wallet_id is None:
            return False
        result = await self._s.execute(
            update(FleetWorker).where(FleetWorker.wallet_id == wallet_id).values(paused=paused)
        )
        return rowcount(result) == 1

    async def workers(self) -> list[FleetWorkerRow]:
        rows = await self._s.execute(
            select(FleetWorker.wallet_id, Wallet.address, FleetWorker.float_limit_micro, FleetWorker.paused)
            .join(Wallet, Wallet.id == FleetWorker.wallet_id)
            .order_by(FleetWorker.wallet_id)
        )
        return [FleetWorkerRow(int(a), str(b), int(c), bool(d)) for a, b, c, d in rows]

    async def float_in_use(self) -> dict[int, int]:
        """Per worker: BUY cost not yet paid back (unsettled, plus what open debts still owe it)."""
        unsettled = await self._s.execute(
            select(SettlementRow.worker_wallet_id, func.sum(SettlementRow.collateral_micro))
            .where(
                SettlementRow.side == Side.BUY,
                SettlementRow.status != SettlementStatus.SETTLED,
                SettlementRow.commission_only.is_(False),
            )
            .group_by(SettlementRow.worker_wallet_id)
        )
        used = {int(w): int(v or 0) for w, v in unsettled}
        owed = await self._s.execute(
            select(SettlementRow.worker_wallet_id, func.sum(DebtRecord.amount_micro))
            .join(SettlementRow, SettlementRow.id == DebtRecord.settlement_id)
            .where(DebtRecord.status == DebtStatus.OPEN)
            .group_by(SettlementRow.worker_wallet_id)
        )
        for worker, amount in owed:
            used[int(worker)] = used.get(int(worker), 0) + int(amount or 0)
        return used

    # --- the queue ------------------------------------------------------------------------------------

    async def position(self, user_id: int, asset: str) -> Position:
        """The user's proxy position in ``asset`` from its settlements (BUYs at cost, SELLs at average cost)."""
        rows = await self._s.execute(
            select(SettlementRow.side, SettlementRow.shares_micro, SettlementRow.collateral_micro)
            .where(SettlementRow.user_id == user_id, SettlementRow.asset == asset)
            .order_by(SettlementRow.id)
        )
        position = Position()
        for side, shares, collateral in rows:
            position = position.bought(shares, collateral) if side == Side.BUY else position.sold(shares)
        return position

    async def unsettled_buy_cost(self, user_id: int) -> int:
        """What the user's proxy will pay at settlement (queued or in flight): BUY costs and their
        commissions, and DIRECT commissions."""
        owed = await self._s.scalar(
            select(
                func.coalesce(func.sum(SettlementRow.collateral_micro + SettlementRow.fee_micro), 0)
            ).where(
                SettlementRow.user_id == user_id,
                SettlementRow.side == Side.BUY,
                SettlementRow.status != SettlementStatus.SETTLED,
                SettlementRow.commission_only.is_(False),
            )
        )
        commission = await self._s.scalar(
            select(func.coalesce(func.sum(SettlementRow.fee_micro), 0)).where(
                SettlementRow.user_id == user_id,
                SettlementRow.status != SettlementStatus.SETTLED,
                SettlementRow.commission_only.is_(True),
            )
        )
        return int(owed or 0) + int(commission or 0)

    async def unsettled_in(self, user_id: int, assets: Sequence[str]) -> int:
        """The user's settlements in ``assets`` not settled yet (their shares or proceeds are with a worker)."""
        n = await self._s.scalar(
            select(func.count()).where(
                SettlementRow.user_id == user_id,
                SettlementRow.asset.in_(list(assets)),
                SettlementRow.status != SettlementStatus.SETTLED,
            )
        )
        return int(n or 0)

    async def assets(self, user_id: int) -> list[str]:
        rows = await self._s.scalars(
            select(SettlementRow.asset).where(SettlementRow.user_id == user_id).distinct()
        )
        return [str(a) for a in rows]

    async def enqueue(self, new: NewSettlement, now: datetime) -> bool:
        """The copy's fill and its settlement row, in the caller's transaction. False if the copy is not
        PENDING (or SETTLEMENT_PENDING) any more: nothing is written then."""
        moved = await self._s.execute(
            update(CopyTrade)
            .where(
                CopyTrade.id == new.copy_trade_id,
                CopyTrade.state.in_((CopyTradeState.PENDING, CopyTradeState.SETTLEMENT_PENDING)),
            )
            .values(
                state=CopyTradeState.SETTLEMENT_PENDING,
                filled_size_micro=new.shares_micro,
                filled_price_micro=new.filled_price_micro,
                filled_notional_micro=new.notional_micro,
                fees_micro=new.fee_micro + new.venue_fee_micro,  # the proxy bears both
                executed_at=now,
                next_retry_at=None,
                locked_at=None,
                locked_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(moved) != 1:
            return False
        await self._insert_queued(new, now, commission_only=False)
        return True

    async def enqueue_commission(self, new: NewSettlement, now: datetime) -> bool:
        """DIRECT: the copy's commission, queued for the treasury (the copy's own state is the engine's:
        the exchange settled the fill). False if it was queued before (a reconciled copy)."""
        return await self._insert_queued(new, now, commission_only=True)

    async def _insert_queued(self, new: NewSettlement, now: datetime, *, commission_only: bool) -> bool:
        """The copy's QUEUED settlement row, unless it has one (a retried or reconciled copy): True if
        written now."""
        exists = await self._s.scalar(
            select(SettlementRow.id).where(SettlementRow.copy_trade_id == new.copy_trade_id)
        )
        if exists is not None:
            return False
        await self._s.execute(
            insert(SettlementRow).values(
                copy_trade_id=new.copy_trade_id,
                user_id=new.user_id,
                proxy_address=new.proxy_address.lower(),
                worker_wallet_id=new.worker_wallet_id,
                side=new.side,
                asset=new.asset,
                shares_micro=new.shares_micro,
                collateral_micro=new.collateral_micro,
                fee_micro=new.fee_micro,
                cost_basis_micro=new.cost_basis_micro,
                commission_only=commission_only,
                status=SettlementStatus.QUEUED,
                retry_count=0,
                created_at=now,
            )
        )
        return True

    async def due(self, now: datetime, limit: int) -> list[SettlementRow]:
        """QUEUED settlements whose retry time has come, oldest first. A DIRECT commission waits until the
        engine has recorded its copy's fill: the commission log's basis is the copy's gross notional."""
        rows = await self._s.scalars(
            select(SettlementRow)
            .join(CopyTrade, CopyTrade.id == SettlementRow.copy_trade_id)
            .where(
                SettlementRow.status == SettlementStatus.QUEUED,
                (SettlementRow.next_retry_at.is_(None)) | (SettlementRow.next_retry_at <= now),
                SettlementRow.commission_only.is_(False) | CopyTrade.filled_notional_micro.is_not(None),
            )
            .order_by(SettlementRow.id)
            .limit(limit)
        )
        return list(rows)

    async def submitted(self) -> list[SettlementRow]:
        rows = await self._s.scalars(
            select(SettlementRow)
            .where(SettlementRow.status == SettlementStatus.SUBMITTED)
            .order_by(SettlementRow.id)
        )
        return list(rows)

    async def mark_submitted(self, ids: Sequence[int], tx_hash: str) -> int:
        result = await self._s.execute(
            update(SettlementRow)
            .where(SettlementRow.id.in_(ids), SettlementRow.status == SettlementStatus.QUEUED)
            .values(status=SettlementStatus.SUBMITTED, tx_hash=tx_hash)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def reschedule(
        self, ids: Sequence[int], error: str, now: datetime, base_s: float, max_s: float
    ) -> None:
        """Back to QUEUED with exponential backoff (the batch was refused, or its outcome lost)."""
        rows = await self._s.execute(
            select(SettlementRow.id, SettlementRow.retry_count).where(SettlementRow.id.in_(ids))
        )
        for row_id, retries in rows:
            delay = min(base_s * 2 ** min(int(retries), 30), max_s)
            await self._s.execute(
                update(SettlementRow)
                .where(SettlementRow.id == row_id, SettlementRow.status != SettlementStatus.SETTLED)
                .values(
                    status=SettlementStatus.QUEUED,
                    tx_hash=None,
                    retry_count=SettlementRow.retry_count + 1,
                    next_retry_at=now + timedelta(seconds=delay),
                    last_error=error[:256],
                )
                .execution_options(synchronize_session=False)
            )

    async def mark_settled(
        self, rows: Sequence[SettlementRow], paid: Mapping[int, Paid], tx_hash: str, now: datetime
    ) -> int:
        """SETTLED, copies EXECUTED, reimbursements, commissions and debts for what was short. Rows already
        SETTLED are left alone (a second confirmation of the same batch writes nothing)."""
        done = 0
        for row in rows:
            moved = await self._s.execute(
                update(SettlementRow)
                .where(SettlementRow.id == row.id, SettlementRow.status != SettlementStatus.SETTLED)
                .values(
                    status=SettlementStatus.SETTLED,
                    tx_hash=tx_hash,
                    settled_at=now,
                    paid_collateral_micro=paid[row.id].collateral_micro,
                    paid_fee_micro=paid[row.id].fee_micro,
                )
                .execution_options(synchronize_session=False)
            )
            if rowcount(moved) != 1:
                continue
            done += 1
            await self._s.execute(
                update(CopyTrade)
                .where(
                    CopyTrade.id == row.copy_trade_id, CopyTrade.state == CopyTradeState.SETTLEMENT_PENDING
                )
                .values(state=CopyTradeState.EXECUTED)
                .execution_options(synchronize_session=False)
            )
            await self._money_rows(row, paid[row.id], tx_hash, now)
        return done

    async def _money_rows(self, row: SettlementRow, paid: Paid, tx_hash: str, now: datetime) -> None:
        reimbursement_id = None
        if row.side == Side.BUY and paid.collateral_micro > 0:
            reimbursement_id = await self._reimburse(row, paid.collateral_micro, tx_hash, now)
        if paid.fee_micro > 0:
            await self._commission(row, paid.fee_micro, now)
        worker_short = row.collateral_micro - paid.collateral_micro if _reimbursed(row) else 0
        short = worker_short + row.fee_micro - paid.fee_micro
        if short > 0:
            await self._s.execute(
                insert(DebtRecord).values(
                    user_id=row.user_id,
                    reimbursement_id=reimbursement_id,
                    settlement_id=row.id,
                    amount_micro=short,
                    reason=f"proxy short at settlement of copy {row.copy_trade_id}",
                    status=DebtStatus.OPEN,
                    created_at=now,
                )
            )

    async def _reimburse(self, row: SettlementRow, amount: int, tx_hash: str, now: datetime) -> int:
        result = await self._s.execute(
            insert(ReimbursementEntry)
            .values(
                user_id=row.user_id,
                fleet_wallet_id=row.worker_wallet_id,
                copy_trade_id=row.copy_trade_id,
                amount_micro=amount,
                status=ReimbursementStatus.CONFIRMED,
                tx_hash=tx_hash,
                created_at=now,
                updated_at=now,
                settled_at=now,
            )
            .returning(ReimbursementEntry.id)
        )
        return int(result.scalar_one())

    async def _commission(self, row: SettlementRow, amount: int, now: datetime) -> None:
        notional = await self._s.scalar(
            select(CopyTrade.filled_notional_micro).where(CopyTrade.id == row.copy_trade_id)
        )
        basis = int(notional) if notional is not None else row.collateral_micro  # the gross notional
        await self._s.execute(
            insert(CommissionLog).values(
                user_id=row.user_id,
                copy_trade_id=row.copy_trade_id,
                basis_micro=basis,
                rate_bps=amount * 10_000 // basis if basis else 0,
                amount_micro=amount,
                created_at=now,
            )
        )

    # --- debts ----------------------------------------------------------------------------------------

    async def open_debts(self) -> list[tuple[DebtRecord, SettlementRow]]:
        rows = await self._s.execute(
            select(DebtRecord, SettlementRow)
            .join(SettlementRow, SettlementRow.id == DebtRecord.settlement_id)
            .where(DebtRecord.status == DebtStatus.OPEN)
            .order_by(DebtRecord.id)
        )
        return [(debt, row) for debt, row in rows.all()]

    async def recover_debt(self, debt: DebtRecord, row: SettlementRow, tx_hash: str, now: datetime) -> bool:
        """The debt collected on chain: the worker's part reimbursed, the commission's part logged."""
        moved = await self._s.execute(
            update(DebtRecord)
            .where(DebtRecord.id == debt.id, DebtRecord.status == DebtStatus.OPEN)
            .values(status=DebtStatus.RECOVERED, recovered_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(moved) != 1:
            return False
        worker_part, fee_part = debt_parts(row)
        if worker_part > 0:
            await self._reimburse(row, worker_part, tx_hash, now)
        if fee_part > 0:
            await self._commission(row, fee_part, now)
        await self._s.execute(
            update(SettlementRow)
            .where(SettlementRow.id == row.id)
            .values(
                paid_collateral_micro=(row.paid_collateral_micro or 0) + worker_part,
                paid_fee_micro=(row.paid_fee_micro or 0) + fee_part,
            )
            .execution_options(synchronize_session=False)
        )
        return True

    # --- reading --------------------------------------------------------------------------------------

    async def ledger(self, user_id: int) -> Ledger:
        reimbursed = await self._s.scalar(
            select(func.coalesce(func.sum(ReimbursementEntry.amount_micro), 0)).where(
                ReimbursementEntry.user_id == user_id,
                ReimbursementEntry.status == ReimbursementStatus.CONFIRMED,
            )
        )
        proceeds = await self._s.scalar(
            select(func.coalesce(func.sum(SettlementRow.paid_collateral_micro), 0)).where(
                SettlementRow.user_id == user_id,
                SettlementRow.side == Side.SELL,
                SettlementRow.status == SettlementStatus.SETTLED,
            )
        )
        commission = await self._s.scalar(
            select(func.coalesce(func.sum(CommissionLog.amount_micro), 0)).where(
                CommissionLog.user_id == user_id
            )
        )
        debt = await self._s.scalar(
            select(func.coalesce(func.sum(DebtRecord.amount_micro), 0)).where(
                DebtRecord.user_id == user_id, DebtRecord.status == DebtStatus.OPEN
            )
        )
        queued = await self._s.scalar(
            select(func.count()).where(
                SettlementRow.user_id == user_id, SettlementRow.status != SettlementStatus.SETTLED
            )
        )
        settled = await self._s.scalar(
            select(func.count()).where(
                SettlementRow.user_id == user_id, SettlementRow.status == SettlementStatus.SETTLED
            )
        )
        return Ledger(
            int(reimbursed or 0),
            int(proceeds or 0),
            int(commission or 0),
            int(debt or 0),
            int(queued or 0),
            int(settled or 0),
        )

    async def executed_copies(self, user_id: int) -> int:
        """The user's copies EXECUTED (a PROXY copy once settled; a DIRECT one as the venue answered)."""
        n = await self._s.scalar(
            select(func.count())
            .select_from(CopyTrade)
            .join(CopyConfig, CopyConfig.id == CopyTrade.config_id)
            .where(CopyConfig.user_id == user_id, CopyTrade.state == CopyTradeState.EXECUTED)
        )
        return int(n or 0)

    async def queue_stats(self, now: datetime) -> tuple[int, float, int]:
        """(depth, lag in seconds of the oldest unsettled, retries so far of the unsettled)."""
        depth, oldest, retries = (
            await self._s.execute(
                select(
                    func.count(),
                    func.min(SettlementRow.created_at),
                    func.coalesce(func.sum(SettlementRow.retry_count), 0),
                ).where(SettlementRow.status != SettlementStatus.SETTLED)
            )
        ).one()
        lag = (now - oldest).total_seconds() if oldest is not None else 0.0
        return int(depth), max(lag, 0.0), int(retries)


def _reimbursed(row: SettlementRow) -> bool:
    """The row's collateral is owed to its worker (a PROXY BUY; never a DIRECT commission)."""
    return row.side == Side.BUY and not row.commission_only


def debt_parts(row: SettlementRow) -> tuple[int, int]:
    """(owed to the worker, owed to the treasury) that the settlement of ``row`` left unpaid."""
    worker = row.collateral_micro - (row.paid_collateral_micro or 0) if _reimbursed(row) else 0
    return max(worker, 0), max(row.fee_micro - (row.paid_fee_micro or 0), 0)
