"""The JSON API under /api/v1: accounts and tokens, followers, leaders, copy configs, copies (with a
server-sent events stream), stop everything, the audit log. Everything but sign-up and sign-in needs
credentials (401 without); what belongs to another account answers 404, like what does not exist."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from polyhunter.api.auth_deps import COOKIE, current_principal
from polyhunter.api.convert import config_out, copy_out, follower_out, leader_out
from polyhunter.api.leader_rank import LeaderRankings
from polyhunter.api.routes_analytics import mount_analytics
from polyhunter.domain.states import CopyTradeState
from polyhunter.service.auth import (
    AuthFailedError,
    AuthService,
    ConflictError,
    NewSession,
    Principal,
    RateLimitedError,
)
from polyhunter.service.models import (
    MAX_ID,
    AccountOut,
    AuditOut,
    ConfigIn,
    ConfigOut,
    CopyPage,
    Credentials,
    FollowerIn,
    FollowerOut,
    LeaderIn,
    LeaderOut,
    LimitsIn,
    NewTokenOut,
    SessionOut,
    StopOut,
    TokenIn,
    TokenOut,
)
from polyhunter.service.pnl import PnlService
from polyhunter.service.resources import FieldError, NotFoundError, PlatformService
from polyhunter.store.repos.owned import CopyFilter

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Me = Annotated[Principal, Depends(current_principal)]
STREAM_INTERVAL_S = 0.5
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no credentials, or unknown ones"},
    404: {"description": "not found (or not yours)"},
    409: {"description": "taken already"},
    422: {"description": "a field refused"},
}


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ConflictError)
    async def conflict(_request: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(FieldError)
    async def field_error(_request: Request, exc: FieldError) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RateLimitedError)
    async def limited(_request: Request, exc: RateLimitedError) -> JSONResponse:
        headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))}
        return JSONResponse({"detail": str(exc)}, status_code=429, headers=headers)

    @app.exception_handler(AuthFailedError)
    async def failed(_request: Request, exc: AuthFailedError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _session_response(new: NewSession, response: Response, secure: bool) -> SessionOut:
    response.set_cookie(COOKIE, new.token, httponly=True, samesite="strict", secure=secure, path="/")
    who = new.principal
    account = AccountOut(id=who.account_id, username=who.username, role=who.role)
    return SessionOut(account=account, csrf_token=new.csrf_token)


def mount_v1(
    app: FastAPI,
    auth: AuthService,
    platform: PlatformService,
    *,
    admin_status: Callable[[], dict[str, Any]] | None = None,
    secure_cookies: bool = False,
    pnl: PnlService | None = None,
    rankings: LeaderRankings | None = None,
) -> None:
    _error_handlers(app)
    app.state.auth = auth
    api = APIRouter(prefix="/api/v1", responses=ERRORS)
    _account_routes(api, auth, secure_cookies)
    mount_analytics(api, pnl, rankings)  # before the leader routes (/leaders/rank)
    _owned_routes(api, platform)
    _config_routes(api, platform)
    _copy_routes(api, platform, admin_status)
    app.include_router(api)


def _account_routes(api: APIRouter, auth: AuthService, secure_cookies: bool) -> None:
    @api.post("/auth/register", status_code=201, tags=["auth"])
    async def register(body: Credentials, request: Request, response: Response) -> SessionOut:
        new = await auth.register(body.username.lower(), body.password, _client(request))
        return _session_response(new, response, secure_cookies)

    @api.post("/auth/login", tags=["auth"], responses={429: {"description": "too many attempts"}})
    async def login(body: Credentials, request: Request, response: Response) -> SessionOut:
        new = await auth.login(body.username.lower(), body.password, _client(request))
        return _session_response(new, response, secure_cookies)

    @api.post("/auth/session", tags=["auth"], summary="A browser session for the bearer token's account")
    async def session_for_token(me: Me, response: Response) -> SessionOut:
        return _session_response(await auth.session_for(me), response, secure_cookies)

    @api.post("/auth/logout", status_code=204, tags=["auth"])
    async def logout(me: Me, response: Response) -> Response:
        await auth.revoke(me, me.token_id)
        response.delete_cookie(COOKIE, path="/")
        response.status_code = 204
        return response

    @api.get("/me", tags=["auth"])
    async def whoami(me: Me) -> AccountOut:
        return AccountOut(id=me.account_id, username=me.username, role=me.role)

    @api.get("/tokens", tags=["auth"])
    async def tokens(me: Me) -> list[TokenOut]:
        return [
            TokenOut(id=t.id, kind=t.kind, label=t.label, created_at=t.created_at, expires_at=t.expires_at)
            for t in await auth.tokens(me)
        ]

    @api.post("/tokens", status_code=201, tags=["auth"])
    async def new_token(me: Me, body: TokenIn) -> NewTokenOut:
        row, token = await auth.new_api_token(me, body.label)
        return NewTokenOut(
            id=row.id,
            kind=row.kind,
            label=row.label,
            created_at=row.created_at,
            expires_at=row.expires_at,
            token=token,
        )

    @api.delete("/tokens/{token_id}", status_code=204, tags=["auth"])
    async def revoke_token(me: Me, token_id: Id) -> Response:
        if not await auth.revoke(me, token_id):
            raise NotFoundError(f"token {token_id} not found")
        return Response(status_code=204)


def _owned_routes(api: APIRouter, platform: PlatformService) -> None:
    @api.get("/followers", tags=["followers"])
    async def followers(me: Me) -> list[FollowerOut]:
        return [follower_out(row, extra) for row, extra in await platform.followers(me)]

    @api.post("/followers", status_code=201, tags=["followers"])
    async def create_follower(me: Me, body: FollowerIn) -> FollowerOut:
        follower_id = await platform.create_follower(me, body)
        return follower_out(*await platform.follower(me, follower_id))

    @api.get("/followers/{follower_id}", tags=["followers"])
    async def follower(me: Me, follower_id: Id) -> FollowerOut:
        return follower_out(*await platform.follower(me, follower_id))

    @api.patch("/followers/{follower_id}", tags=["followers"])
    async def follower_limits(me: Me, follower_id: Id, body: LimitsIn) -> FollowerOut:
        await platform.update_limits(me, follower_id, body)
        return follower_out(*await platform.follower(me, follower_id))

    @api.delete("/followers/{follower_id}", status_code=204, tags=["followers"])
    async def remove_follower(me: Me, follower_id: Id) -> Response:
        await platform.remove_follower(me, follower_id)
        return Response(status_code=204)

    @api.get("/leaders", tags=["leaders"])
    async def leaders(me: Me) -> list[LeaderOut]:
        return [leader_out(row, rec) for row, rec in await platform.leaders(me)]

    @api.post("/leaders", status_code=201, tags=["leaders"])
    async def add_leader(me: Me, body: LeaderIn) -> LeaderOut:
        watch_id = await platform.add_leader(me, body.address, body.label)
        return leader_out(*await platform.leader(me, watch_id))

    @api.get("/leaders/{leader_id}", tags=["leaders"])
    async def leader(me: Me, leader_id: Id) -> LeaderOut:
        return leader_out(*await platform.leader(me, leader_id))

    @api.delete("/leaders/{leader_id}", status_code=204, tags=["leaders"])
    async def remove_leader(me: Me, leader_id: Id) -> Response:
        await platform.remove_leader(me, leader_id)
        return Response(status_code=204)


def _config_routes(api: APIRouter, platform: PlatformService) -> None:
    @api.get("/configs", tags=["configs"])
    async def configs(me: Me) -> list[ConfigOut]:
        return [config_out(row) for row in await platform.configs(me)]

    @api.post("/configs", status_code=201, tags=["configs"])
    async def create_config(me: Me, body: ConfigIn) -> ConfigOut:
        return config_out(await platform.config(me, await platform.save_config(me, body)))

    @api.get("/configs/{config_id}", tags=["configs"])
    async def config(me: Me, config_id: Id) -> ConfigOut:
        return config_out(await platform.config(me, config_id))

    @api.put("/configs/{config_id}", tags=["configs"])
    async def update_config(me: Me, config_id: Id, body: ConfigIn) -> ConfigOut:
        return config_out(await platform.config(me, await platform.save_config(me, body, config_id)))

    @api.delete("/configs/{config_id}", status_code=204, tags=["configs"])
    async def remove_config(me: Me, config_id: Id) -> Response:
        await platform.remove_config(me, config_id)
        return Response(status_code=204)

    @api.post("/configs/{config_id}/pause", tags=["configs"])
    async def pause_config(me: Me, config_id: Id) -> ConfigOut:
        await platform.pause_config(me, config_id, True)
        return config_out(await platform.config(me, config_id))

    @api.post("/configs/{config_id}/resume", tags=["configs"])
    async def resume_config(me: Me, config_id: Id) -> ConfigOut:
        await platform.pause_config(me, config_id, False)
        return config_out(await platform.config(me, config_id))


def copy_filter(
    state: CopyTradeState | None = None,
    reason: Annotated[str | None, Query(max_length=128)] = None,
    leader: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")] = None,
    follower_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    config_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    market: Annotated[str | None, Query(max_length=96, pattern=r"^[0-9A-Za-z]+$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CopyFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(
                422, [{"loc": ["query", name], "msg": "needs a UTC offset", "type": "value_error"}]
            )
    return CopyFilter(
        state=None if state is None else str(state),
        reason=reason,
        leader=None if leader is None else leader.lower(),
        follower_id=follower_id,
        config_id=config_id,
        market=market,
        since=since,
        until=until,
        before_id=cursor,
        limit=limit,
    )


def _copy_routes(
    api: APIRouter, platform: PlatformService, admin_status: Callable[[], dict[str, Any]] | None
) -> None:
    @api.post("/stop", tags=["configs"], summary="Stop everything: pause every config of this account")
    async def stop(me: Me) -> StopOut:
        return StopOut(configs=await platform.stop_everything(me))

    @api.post("/resume", tags=["configs"], summary="Resume every paused config of this account")
    async def resume(me: Me) -> StopOut:
        return StopOut(configs=await platform.resume_everything(me))

    @api.get("/copies", tags=["copies"])
    async def copies(me: Me, f: Annotated[CopyFilter, Depends(copy_filter)]) -> CopyPage:
        rows = await platform.copies(me, f)
        items = [copy_out(*row) for row in rows]
        return CopyPage(items=items, next_cursor=items[-1].id if len(items) == f.limit else None)

    @api.get("/copies/stream", tags=["copies"], response_class=StreamingResponse)
    async def stream(me: Me, request: Request) -> StreamingResponse:
        """Server-sent events: `copy` (a copy, new or changed state), every half second."""
        return StreamingResponse(_events(platform, me, request), media_type="text/event-stream")

    @api.get("/audit", tags=["auth"])
    async def audit(me: Me, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
        return [
            AuditOut(id=e.id, action=e.action, target=e.target, created_at=e.created_at)
            for e in await platform.audit(me, limit)
        ]

    @api.get("/admin/status", tags=["admin"], responses={403: {"description": "admins only"}})
    async def admin(me: Me) -> dict[str, Any]:
        if me.role != "admin":
            raise HTTPException(403, "admins only")
        return {} if admin_status is None else admin_status()


async def _events(platform: PlatformService, me: Principal, request: Request) -> AsyncIterator[str]:
    sent: dict[int, str] = {}
    yield "retry: 1000\n\n"
    while not await request.is_disconnected():
        rows = await platform.copies(me, CopyFilter(limit=50))
        for row in reversed(rows):
            out = copy_out(*row)
            if sent.get(out.id) != out.state:
                sent[out.id] = out.state
                yield f"event: copy\ndata: {json.dumps(out.model_dump(mode='json'))}\n\n"
        if len(sent) > 1000:
            keep = sorted(sent)[-200:]
            sent = {k: sent[k] for k in keep}
        await asyncio.sleep(STREAM_INTERVAL_S)
