"""A wait for a pooled database connection past `db.pool_timeout_s` is the port's retryable
`StoreUnavailableError` (the engine retries it), not an error that fails copies."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from polyhunter.engine.db_retry import retry_on_disconnect
from polyhunter.ports.store import StoreUnavailableError
from polyhunter.store.copy_store import translated_errors


async def test_pool_timeout_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailableError, match="no database connection free"):
        async with translated_errors():
            raise PoolTimeoutError("QueuePool limit of size 1 overflow 0 reached")


async def test_the_engine_retries_it() -> None:
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            async with translated_errors():
                raise PoolTimeoutError("QueuePool limit reached")
        return "done"

    assert await retry_on_disconnect(work, "prewrite") == "done"
    assert calls == 3
