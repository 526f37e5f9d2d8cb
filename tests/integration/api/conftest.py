"""A PostgreSQL database per test for the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from polyhunter.settings import DbSettings
from tests.support.pg_databases import create_pg_database, drop_pg_database, pg_settings


@pytest.fixture
def fresh_pg() -> Iterator[DbSettings]:
    name = create_pg_database()
    try:
        yield pg_settings(name)
    finally:
        drop_pg_database(name)
