"""The HTTP API of a running PolyHunter: Prometheus metrics, health and a status summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def create_app(registry: CollectorRegistry, status: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="PolyHunter", docs_url=None, redoc_url=None)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/status")
    def current_status() -> dict[str, Any]:
        return status()

    return app
