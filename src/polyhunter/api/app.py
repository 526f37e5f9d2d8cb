"""The HTTP API of a running PolyHunter: Prometheus metrics, health (polyhunter.health) and a status
summary."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class StatusQueries(Protocol):
    """What /status reads (`polyhunter.queries.Queries`)."""

    def status(self) -> dict[str, Any]: ...


class HealthReport(Protocol):
    """What /health serves (`polyhunter.health.Health`): the document and its HTTP status."""

    async def report(self) -> tuple[dict[str, Any], int]: ...


def create_app(
    registry: CollectorRegistry, queries: StatusQueries, checks: HealthReport | None = None
) -> FastAPI:
    app = FastAPI(title="PolyHunter", docs_url=None, redoc_url=None)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    async def health() -> JSONResponse:
        if checks is None:
            return JSONResponse({"status": "ok", "checks": {}})
        doc, code = await checks.report()
        return JSONResponse(doc, status_code=code)

    @app.get("/status")
    def current_status() -> dict[str, Any]:
        return queries.status()

    return app
