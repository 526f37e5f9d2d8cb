"""The value of a follower's open positions, for PROPORTIONAL sizing (see `domain.sizing`), and a
follower's equity for PnL: each custody type computes them for its own executor (see the
`positions_value` and `equity` of its descriptor in `polyhunter.execution.registry`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.execution.registry import CUSTODY, CustodyRegistry, ValueContext
from polyhunter.ports.venue import Executor


class PositionsValue:
    def __init__(
        self,
        executors: Mapping[CustodyMode, Executor],
        values: ValueContext,
        custody: CustodyRegistry = CUSTODY,
    ) -> None:
        self._executors = executors
        self._values = values
        self._custody = custody

    async def __call__(self, custody: CustodyMode, user_id: int) -> Decimal:
        executor = self._executors.get(custody)
        if executor is None:
            raise ValueError(f"no positions value for custody {custody}")
        return await self._custody.get(custody).positions_value(executor, self._values, user_id)

    async def equity(self, custody: CustodyMode, user_id: int) -> Decimal:
        """Cash plus positions at the current marks (see the custody type's `equity`)."""
        executor = self._executors.get(custody)
        if executor is None:
            raise ValueError(f"no equity for custody {custody}")
        return await self._custody.get(custody).equity(executor, self._values, user_id)
