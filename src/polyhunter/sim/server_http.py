"""Small HTTP helpers shared by the simulator's surfaces: JSON answers, query parsing, fault middleware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.sim.faults import Faults

__all__ = [
    "BadRequest",
    "error_response",
    "fault_middleware",
    "json_response",
    "parse_bool",
    "parse_decimal",
    "parse_int",
    "raw_json_response",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAULT_BODIES = {
    429: {"error": "Too Many Requests"},
    500: {"error": "Internal Server Error"},
    503: {"error": "Service Unavailable"},
}


class BadRequest(Exception):
    """A client error; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def raw_json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def json_response(data: Any, status: int = 200) -> web.Response:
    """Encode plain data or wire structs (msgspec, Decimals as JSON numbers)."""
    return raw_json_response(encode(data), status)


def error_response(message: str, status: int = 400, **extra: Any) -> web.Response:
    return raw_json_response(json.dumps({"error": message, **extra}, separators=(",", ":")).encode(), status)


def parse_int(query: Any, name: str, default: int | None, *, minimum: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"invalid {name}: {raw!r}") from None
    if minimum is not None and value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}")
    return value


def parse_bool(query: Any, name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"invalid {name}: {raw!r}")


def parse_decimal(query: Any, name: str) -> Decimal | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadRequest(f"invalid {name}: {raw!r}") from None
    if not value.is_finite():
        raise BadRequest(f"invalid {name}: {raw!r}")
    return value


def fault_middleware(faults: Faults, surface: str) -> Any:
    """aiohttp middleware applying latency and 429/5xx faults, and mapping ``BadRequest``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        decision = faults.decide(surface, request.path)
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.status is not None:
            headers = {"Retry-After": "1"} if decision.status in (429, 503) else {}
            resp = error_response(FAULT_BODIES[decision.status]["error"], decision.status)
            resp.headers.update(headers)
            return resp
        try:
            return await handler(request)
        except BadRequest as exc:
            return error_response(exc.message, exc.status)

    return middleware
