"""A property-based test of the API from its own OpenAPI document (schemathesis): for every operation,
generated requests (valid and invalid) with a signed-in account's bearer token never get a 5xx, and
every response a schema documents matches it. The server is real (uvicorn on PostgreSQL) in a
thread of its own."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from polyhunter.settings import DbSettings
from tests.support.api_stack import api_stack

pytestmark = pytest.mark.integration

EXAMPLES = 20
# Infinite (the event stream) or ending the test's own credentials (logout, revoking tokens): tried
# by the ownership tests instead.
SKIPPED = {
    ("GET", "/api/v1/copies/stream"),
    ("POST", "/api/v1/auth/logout"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
}


@pytest.fixture
def served(fresh_pg: DbSettings) -> Iterator[str]:
    urls: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        async with api_stack(fresh_pg) as stack:
            urls.put(stack.url)
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        thread.join(timeout=30)


def _token(url: str) -> str:
    http = requests.Session()
    r = http.post(url + "/api/v1/auth/register", json={"username": "prop", "password": "property test"})
    assert r.status_code == 201, r.text
    r = http.post(url + "/api/v1/tokens", json={}, headers={"X-CSRF-Token": r.json()["csrf_token"]})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    follower = http.post(url + "/api/v1/followers", json={"name": "f"}, headers=auth).json()
    http.post(url + "/api/v1/leaders", json={"address": "0x" + "ab" * 20}, headers=auth)
    body = {
        "follower_id": follower["id"],
        "leader": "0x" + "ab" * 20,
        "sizing": "FIXED_USDC",
        "sizing_value": "1",
    }
    assert http.post(url + "/api/v1/configs", json=body, headers=auth).status_code == 201
    return token


def test_api_holds_its_own_schema(served: str) -> None:
    token = _token(served)
    schema = schemathesis.openapi.from_url(served + "/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=served, headers=headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        check()
    assert len(tried) >= 24
