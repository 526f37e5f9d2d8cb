"""The dashboard: one static page with plain JavaScript (no build step), served at / with its script
and stylesheet under /static. It talks to /api/v1 like any client: a session cookie with its CSRF
token after sign-in, or a bearer token handed in the URL fragment (`/#token=...`, the demo's link:
a fragment never reaches the server or its logs). Copies arrive live over /api/v1/copies/stream."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def mount_dashboard(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
