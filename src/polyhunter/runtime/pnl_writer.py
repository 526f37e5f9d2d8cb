"""The running supervisor's writer of the daily PnL series (store/pnl_daily.py): every
`engine.pnl_daily_interval_s` and once more at a clean stop it recomputes every (config, UTC day) row
from the store's executed copies and redemptions and upserts them; today's open positions are marked at
the venue's midpoint, or its last trade where the book has none. It keeps today's roll-up per follower
(what /status shows) from its last write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.daily_pnl import utc_day
from polyhunter.domain.errors import PolyHunterError
from polyhunter.log import get_logger
from polyhunter.store.pnl_daily import Marks, PnlDay, SqlDailyPnl
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)
Price = Callable[[str], Awaitable[Decimal | None]]


def venue_marks(midpoint: Price, last_trade: Price) -> Marks:
    """A token's mark: the venue's midpoint, else its last trade; None when it has neither (or fails)."""

    async def mark(token: str) -> Decimal | None:
        for read in (midpoint, last_trade):
            try:
                value = await read(token)
            except PolyHunterError:
                continue
            if value is not None:
                return value
        return None

    return mark


class DailyPnlWriter:
    def __init__(
        self,
        store: SqlDailyPnl,
        marks: Marks | None,
        interval_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self._marks = marks
        self._interval_s = interval_s
        self._clock = clock
        self.writes = 0
        self.rows = 0
        self.last_error: str | None = None
        self.today: dict[int, PnlDay] = {}  # by follower (user id): the last write's roll-up of today

    async def write(self) -> None:
        now = self._clock()
        rows = await self.store.write(now, self._marks)
        today = utc_day(now)
        rollup: dict[int, list[int]] = {}
        for r in rows:
            if r.day == today:
                acc = rollup.setdefault(r.user_id, [0, 0, 0, 0])
                for i, value in enumerate((r.realized, r.fees, r.unrealized, r.invested)):
                    acc[i] += int((value * 1_000_000).to_integral_value())
        self.today = {user: PnlDay(today, *acc) for user, acc in rollup.items()}
        self.writes += 1
        self.rows = len(rows)
        self.last_error = None

    async def write_logged(self, limit_s: float | None = None) -> None:
        """`write`, a failure logged (and kept for /status) rather than raised: a report must not stop
        the copying; the next one retries. With `limit_s` (at a stop), given up after that long (the
        venue's marks not answering must not hold the exit; the next start writes the series)."""
        try:
            async with asyncio.timeout(limit_s):
                await self.write()
        except TimeoutError:
            self.last_error = f"TimeoutError: not written within {limit_s:g} s"
            log.warning("daily pnl not written", error=self.last_error)
        except Exception as exc:  # noqa: BLE001 - any failure: logged, retried next interval
            self.last_error = f"{type(exc).__name__}: " + " ".join(str(exc).split())[:300]
            log.warning("daily pnl not written", error=self.last_error)

    async def run(self) -> None:
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            await self.write_logged()
            await asyncio.sleep(self._interval_s)

    def status(self) -> dict[str, object]:
        return {"writes": self.writes, "rows": self.rows, "last_error": self.last_error}
