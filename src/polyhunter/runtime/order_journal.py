"""The `orders` journal of an own-wallet executor: each signed order is written (SUBMITTING, with its
hash) before it is posted, so after a crash or a timeout the exact order can be looked up at the venue
instead of being sent again. The engine later gives the row its result (see store/copy_writes.py, update_finished_orders).

Group commit: when a signal fans out, hundreds of copies reach this point together. Their rows are
written by one INSERT in one transaction (the copies that arrive while a batch is being written form
the next batch), and each copy posts its order only once its own row is committed. A single copy
pays one event-loop turn for this. If a batch fails on a constraint, its rows are retried one by one
so that only the offending copy fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from polyhunter.adapters.polymarket.order_signer import SignedOrder
from polyhunter.domain.orders import OrderRequest
from polyhunter.domain.signal import to_micro
from polyhunter.domain.states import OrderStatus
from polyhunter.store.order_rows import OrderRows, is_constraint_violation
from polyhunter.store.sessions import SessionFactory


class OrderJournal:
    def __init__(self, sessions: SessionFactory, wallet_of_user: Mapping[int, int]) -> None:
        self._rows = OrderRows(sessions)
        self._wallet_of_user = wallet_of_user
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.rows = 0

    async def record_submit(self, request: OrderRequest, signed: SignedOrder) -> None:
        """Returns once this order's row is committed (in a batch with the copies queued with it)."""
        wallet_id = self._wallet_of_user.get(request.user_id)
        if wallet_id is None:
            raise LookupError(f"no wallet recorded for user {request.user_id}")
        now = datetime.now(UTC)
        row = {
            "venue_order_id": signed.order_hash,
            "copy_trade_id": request.copy_trade_id,
            "wallet_id": wallet_id,
            "asset": request.token_id,
            "side": request.side,
            "price_micro": to_micro(request.limit_price),
            "size_micro": to_micro(request.shares),
            "order_type": str(request.order_type),
            "status": OrderStatus.SUBMITTING,
            "created_at": now,
            "updated_at": now,
        }
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="order-journal")
        await done

    async def _write(self) -> None:
        while self._queue:
            await asyncio.sleep(0)  # copies signed in the same turn join this batch
            batch, self._queue = self._queue, []
            try:
                await self._insert([row for row, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting copy, none goes unanswered
                if is_constraint_violation(exc):
                    for row, done in batch:  # find the offending row: the others still go out
                        await self._settle(done, self._insert([row]))
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    @staticmethod
    async def _settle(done: asyncio.Future[None], work: Any) -> None:
        try:
            await work
        except Exception as exc:  # noqa: BLE001 - this copy's own error, given to it
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        await self._rows.insert(rows)
        self.batches += 1
        self.rows += len(rows)

    async def lookup_submit(self, request: OrderRequest) -> str | None:
        """The hash of the newest order recorded for this copy, if any."""
        return await self._rows.latest_hash(request.copy_trade_id)
