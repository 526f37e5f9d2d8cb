"""The platform API on a real server for tests: a migrated database, the /api/v1 routes and the
dashboard served by uvicorn on port 0 (no engine; the leader ranking when given a Data API, e.g. the
simulator's), and a small aiohttp client that signs up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.api.app import Platform, create_app
from polyhunter.api.leader_rank import LeaderRankings
from polyhunter.api.server import ApiServer
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.service.auth import AuthService
from polyhunter.service.pnl import PnlService
from polyhunter.service.rate_limit import RateLimiter
from polyhunter.service.resources import PlatformService
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.sessions import SessionFactory


class _NoStatus:
    def status(self) -> dict[str, Any]:
        return {"ok": True}


@dataclass
class ApiStack:
    url: str
    sessions: SessionFactory
    box: SecretBox
    rankings: LeaderRankings | None = None


@asynccontextmanager
async def api_stack(
    db: DbSettings, *, login_limit: int = 1000, data_api_url: str | None = None
) -> AsyncIterator[ApiStack]:
    await migrate.upgrade(db)
    engine = create_engine(db)
    sessions = create_session_factory(engine)
    box = SecretBox(generate_master_key())
    auth = AuthService(
        sessions, per_name=RateLimiter(login_limit, 60.0), per_client=RateLimiter(login_limit, 60.0)
    )
    data_api = None if data_api_url is None else DataApiClient(data_api_url, 30_000)
    rankings = None if data_api is None else LeaderRankings(data_api)
    platform = Platform(auth, PlatformService(sessions, box), pnl=PnlService(sessions), rankings=rankings)
    app = create_app(CollectorRegistry(), _NoStatus(), None, platform)
    server = ApiServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield ApiStack(server.url, sessions, box, rankings)
    finally:
        await server.stop()
        if data_api is not None:
            await data_api.close()
        await engine.dispose()


class Client:
    """One signed-up account: bearer-token calls (`call`) returning (status, json)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str | None = None) -> None:
        self.http = http
        self.base = base
        self.token = token

    async def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        async with self.http.request(method, self.base + path, json=body, headers=sent) as resp:
            text = await resp.text()
            try:
                data = await resp.json(content_type=None) if text else None
            except ValueError:
                data = text
            return resp.status, data


async def sign_up(
    http: aiohttp.ClientSession, base: str, username: str, password: str = "correct horse"
) -> Client:
    """Register (a session cookie and its CSRF token), then make a bearer token with them."""
    jar_free = aiohttp.ClientSession(base_url=None, cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with jar_free.post(
            base + "/api/v1/auth/register", json={"username": username, "password": password}
        ) as r:
            assert r.status == 201, await r.text()
            csrf = (await r.json())["csrf_token"]
        async with jar_free.post(
            base + "/api/v1/tokens", json={"label": "tests"}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 201, await r.text()
            token = (await r.json())["token"]
    finally:
        await jar_free.close()
    return Client(http, base, token)
