"""``GET /prices-history`` on the CLOB surface, as the live venue serves it (protocol reference §7).

Query: ``market`` (a token id, required), then either ``interval`` (``1h``, ``6h``, ``1d``, ``1w``,
``1m`` = a month, ``max`` / ``all``: a duration ending now) or ``startTs`` / ``endTs`` (unix
seconds; not both forms), and ``fidelity`` (minutes between points, default 1; ``1m`` needs at least
10). Answer ``{"history": [{"t": <unix s>, "p": <price>}, ...]}``, oldest first, from the prices the
simulator recorded (``sim/price_history.py``), with a "now" point (the current price: the midpoint,
else the last trade; 1 or 0 once resolved) appended when the window reaches the present. A token the
simulator does not list has an empty history; bad input answers 400 ``{"error": ...}``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from aiohttp import web

from polyhunter.sim.price_history import PricePoint
from polyhunter.sim.server_clob_market import STATE
from polyhunter.sim.server_http import BadRequest, json_response

__all__ = ["INTERVALS", "add_history_routes"]

INTERVALS = {
    "1h": 3_600,
    "6h": 6 * 3_600,
    "1d": 86_400,
    "1w": 7 * 86_400,
    "1m": 30 * 86_400,
    "max": None,
    "all": None,
}
MIN_FIDELITY = {"1m": 10}  # minutes
MAX_FIDELITY = 60 * 24 * 365  # a year, in minutes


def _seconds(query: web.Request, name: str) -> int | None:
    raw = query.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadRequest(f"invalid filters: {name} {raw[:40]!r} is not a unix timestamp") from None
    if not value.is_finite() or value < 0 or value > 10**11:
        raise BadRequest(f"invalid filters: {name} {raw[:40]!r} is not a unix timestamp")
    return int(value)


def _fidelity(request: web.Request, interval: str | None) -> int:
    raw = request.query.get("fidelity")
    fidelity = 1
    if raw not in (None, ""):
        assert raw is not None
        try:
            fidelity = int(raw)
        except ValueError:
            raise BadRequest(f"invalid filters: fidelity {raw[:40]!r} is not a number of minutes") from None
        if not 1 <= fidelity <= MAX_FIDELITY:
            raise BadRequest(f"invalid filters: fidelity must be between 1 and {MAX_FIDELITY} minutes")
    least = MIN_FIDELITY.get(interval or "")
    if least is not None and fidelity < least:
        raise BadRequest(f"invalid filters: minimum 'fidelity' for '{interval}' range is {least}")
    return fidelity


async def _prices_history(request: web.Request) -> web.Response:
    state = request.app[STATE]
    token = request.query.get("market", "")
    if not token or not token.isdigit() or len(token) > 80:
        raise BadRequest("invalid filters: market must be a token id")
    interval = request.query.get("interval") or None
    start, end = _seconds(request, "startTs"), _seconds(request, "endTs")
    if interval is not None and interval not in INTERVALS:
        raise BadRequest(f"invalid filters: interval {interval[:20]!r} is not one of {', '.join(INTERVALS)}")
    if interval is not None and (start is not None or end is not None):
        raise BadRequest("invalid filters: 'interval' and 'startTs'/'endTs' are mutually exclusive")
    if interval is None and start is None and end is None:
        raise BadRequest("invalid filters: give an 'interval' or 'startTs'/'endTs'")
    if start is not None and end is not None and start > end:
        raise BadRequest("invalid filters: 'startTs' is after 'endTs'")
    fidelity = _fidelity(request, interval)
    if state.info_by_token(token) is None:
        return json_response({"history": []})
    now = state.now_s()
    first_ms = state.price_history.first_ms(token)
    earliest = first_ms // 1000 if first_ms is not None else now
    if interval is not None:
        span = INTERVALS[interval]
        start = now - span if span is not None else earliest
        end = None
    lo = start if start is not None else earliest
    hi = min(end, now) if end is not None else now
    points = state.price_history.window(token, lo, hi, fidelity * 60)
    if (end is None or end >= now) and lo <= now:
        points.append(PricePoint(now, state.current_price(token)))
    return json_response({"history": [{"t": pt.t, "p": pt.p} for pt in points]})


def add_history_routes(app: web.Application) -> None:
    app.router.add_get("/prices-history", _prices_history)
