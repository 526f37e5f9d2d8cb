"""The HTTP API of a running PolyHunter: Prometheus metrics, health and a status summary."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class StatusQueries(Protocol):
    """What /status reads (`polyhunter.queries.Queries`)."""

    def status(self) -> dict[str, Any]: ...


def create_app(registry: CollectorRegistry, queries: StatusQueries) -> FastAPI:
    app = FastAPI(title="PolyHunter", docs_url=None, redoc_url=None)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/status")
    def current_status() -> dict[str, Any]:
        return queries.status()

    return app
