"""A PostgreSQL database per test for the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from polyhunter.settings import DbSettings
from tests.support.pg_databases import fresh_pg_database


@pytest.fixture
def fresh_pg() -> Iterator[DbSettings]:
    with fresh_pg_database() as db:
        yield db
