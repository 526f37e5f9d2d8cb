"""A PostgreSQL server that stops (and comes back) is the port's retryable `StoreUnavailableError`, never
an unclassified error: a refused connection while it is down, and a pooled connection it dropped.
On a cluster of the test's own (tests/support/own_postgres.py), never the shared server."""

from __future__ import annotations

import pytest

from polyhunter.engine.db_retry import retry_on_disconnect
from polyhunter.ports.store import StoreUnavailableError
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory
from tests.support.own_postgres import OwnPostgres
from tests.support.store_factories import a_signal, new_address

pytestmark = pytest.mark.integration


async def test_a_stopped_server_is_store_unavailable_until_it_is_back() -> None:
    server = OwnPostgres()
    try:
        await server.start()
        await server.create_database("store")
        db = DbSettings(url=server.url("store"), pool_size=2)
        await migrate.upgrade(db)
        engine = create_engine(db)
        try:
            store = SqlCopyStore(create_session_factory(engine))
            leader = new_address()
            assert await store.record_signals([a_signal(leader, 1)])  # the pool holds a live connection
            await server.stop()
            with pytest.raises(StoreUnavailableError):  # the pooled connection the stop cut
                await store.record_signals([a_signal(leader, 2)])
            with pytest.raises(StoreUnavailableError, match="Error"):  # a new one: refused
                await store.record_signals([a_signal(leader, 2)])
            await server.start()
            signal = a_signal(leader, 3)
            assert await retry_on_disconnect(lambda: store.record_signals([signal]), "test") == {signal.key}
        finally:
            await engine.dispose()
    finally:
        server.close()
