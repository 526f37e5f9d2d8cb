"""Who is asking: a bearer token (`Authorization: Bearer ...`, for scripts) or the browser's session
cookie, which must come with its CSRF token (`X-CSRF-Token`) on every request that changes
something. No credentials, or ones that are unknown, revoked or expired: 401."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from polyhunter.service.auth import SESSION, AuthService, Principal

COOKIE = "ph_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/tokens")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="The browser session (with X-CSRF-Token)")


def unauthorized(detail: str = "sign in first") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008 - FastAPI's way
    cookie: str | None = Depends(_cookie),  # noqa: B008
) -> Principal:
    """The FastAPI dependency: the `AuthService` is the app's (`app.state.auth`, set by mount_v1)."""
    auth: AuthService = request.app.state.auth
    if request.headers.get("authorization") is not None:
        if bearer is None:
            raise unauthorized("use Authorization: Bearer <token>")
        who = await auth.authenticate(bearer.credentials)
        if who is None:
            raise unauthorized("unknown, revoked or expired token")
        return who
    if cookie:
        who = await auth.authenticate(cookie)
        if who is None or who.kind != SESSION:
            raise unauthorized("session expired; sign in again")
        if request.method not in SAFE_METHODS and not who.csrf_ok(request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, "missing or wrong X-CSRF-Token")
        return who
    raise unauthorized()
