"""The platform API on a real server for tests: a migrated database, the /api/v1 routes and the
dashboard served by uvicorn on port 0 (no engine), and a small aiohttp client that signs up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from polyhunter.api.app import Platform, create_app
from polyhunter.api.server import ApiServer
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.service.auth import AuthService
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


@asynccontextmanager
async def api_stack(db: DbSettings, *, login_limit: int = 1000) -> AsyncIterator[ApiStack]:
    await migrate.upgrade(db)
    engine = create_engine(db)
    sessions = create_session_factory(engine)
    box = SecretBox(generate_master_key())
    auth = AuthService(
        sessions, per_name=RateLimiter(login_limit, 60.0), per_client=RateLimiter(login_limit, 60.0)
    )
    app = create_app(CollectorRegistry(), _NoStatus(), None, Platform(auth, PlatformService(sessions, box)))
    server = ApiServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield ApiStack(server.url, sessions, box)
    finally:
        await server.stop()
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
