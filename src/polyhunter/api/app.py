"""The HTTP API of a running PolyHunter: Prometheus metrics, health (polyhunter.health), a status
summary, and (with `platform`) the multi-user JSON API under /api/v1 (`routes_v1.py`) and the
dashboard at / (`dashboard.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from polyhunter.api.dashboard import mount_dashboard
from polyhunter.api.leader_rank import LeaderRankings
from polyhunter.api.routes_v1 import mount_v1
from polyhunter.service.auth import AuthService
from polyhunter.service.pnl import PnlService
from polyhunter.service.resources import PlatformService


class StatusQueries(Protocol):
    """What /status reads (`polyhunter.queries.Queries`)."""

    def status(self) -> dict[str, Any]: ...


class HealthReport(Protocol):
    """What /health serves (`polyhunter.health.Health`): the document and its HTTP status."""

    async def report(self) -> tuple[dict[str, Any], int]: ...


@dataclass(frozen=True, slots=True)
class Platform:
    """What the /api/v1 routes serve from."""

    auth: AuthService
    service: PlatformService
    secure_cookies: bool = False
    pnl: PnlService | None = None  # the daily PnL series routes
    rankings: LeaderRankings | None = None  # GET /api/v1/leaders/rank (the Data API, cached)


def create_app(
    registry: CollectorRegistry,
    queries: StatusQueries,
    checks: HealthReport | None = None,
    platform: Platform | None = None,
) -> FastAPI:
    app = FastAPI(title="PolyHunter", version="1", docs_url=None, redoc_url=None)
    if platform is not None:
        mount_v1(
            app,
            platform.auth,
            platform.service,
            admin_status=queries.status,
            secure_cookies=platform.secure_cookies,
            pnl=platform.pnl,
            rankings=platform.rankings,
        )
        mount_dashboard(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        if checks is None:
            return JSONResponse({"status": "ok", "checks": {}})
        doc, code = await checks.report()
        return JSONResponse(doc, status_code=code)

    @app.get("/status", include_in_schema=False)
    def current_status() -> dict[str, Any]:
        return queries.status()

    return app
