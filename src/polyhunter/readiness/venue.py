"""The venue's surfaces: CLOB REST (`/time` for the clock, `/version`), Data API, Gamma and RTDS.

A surface is reachable when it answers HTTP (a 429 is an answer: the venue is there, only busy); a
5xx or a 404 on a path it always serves is a failure. The clock skew is the server's time (CLOB
`/time`, else the `Date` header) against ours at the middle of the request.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import aiohttp

from polyhunter.readiness.checks import CheckResult, failed, one_line, passed
from polyhunter.settings import VenueSettings

MAX_SKEW_S = 10.0  # L1 auth headers carry our clock; the venue refuses them when they are far off


class Unreachable(Exception):
    """The surface did not answer HTTP (connection refused, DNS, TLS, reset)."""


def _why(exc: aiohttp.ClientError, url: str) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ConnectionRefusedError):
        return f"connection refused at {url}"
    return f"{type(exc).__name__}: {one_line(exc)} at {url}"


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, float]:
    """(status, body, skew_s from the Date header, 0 when there is none)."""
    sent = time.time()
    try:
        async with http.get(url) as resp:
            body = await resp.read()
            date = resp.headers.get("Date")
    except aiohttp.ClientError as exc:
        raise Unreachable(_why(exc, url)) from exc
    skew = 0.0
    if date:
        try:
            skew = parsedate_to_datetime(date).timestamp() - (sent + time.time()) / 2
        except (TypeError, ValueError):
            skew = 0.0
    return resp.status, body, skew


def _skew_problem(skew_s: float) -> str | None:
    if abs(skew_s) > MAX_SKEW_S:
        return f"clock skew {skew_s:+.1f} s against the venue (more than {MAX_SKEW_S:g} s)"
    return None


_SKEW_FIX = "synchronise this host's clock (NTP: timedatectl set-ntp true)"


async def check_clob(
    http: aiohttp.ClientSession, venue: VenueSettings, name: str = "venue.clob"
) -> CheckResult:
    fix = "start the venue or set venue.clob_url"
    url = venue.clob_url
    try:
        sent = time.time()
        status, body, _ = await _get(http, url + "/time")
        now = (sent + time.time()) / 2
        if status >= 300:
            return failed(name, f"GET {url}/time answered HTTP {status}", fix)
        server_s = float(body.decode().strip().strip('"'))
        skew = server_s - now
        v_status, v_body, _ = await _get(http, url + "/version")
    except Unreachable as exc:
        return failed(name, f"unreachable ({exc})", fix)
    except ValueError:
        return failed(name, f"GET {url}/time did not answer a time (is this a CLOB?)", fix)
    # Time is whole seconds: up to 1 s of the skew is rounding.
    problem = _skew_problem(skew if abs(skew) > 1 else 0.0)
    if problem:
        return failed(name, problem, _SKEW_FIX)
    version = "unknown (2 assumed)"
    if v_status < 300:
        try:
            version = str(json.loads(v_body)["version"])
        except (ValueError, KeyError, TypeError):
            version = v_body.decode(errors="replace").strip()[:60]
    return passed(name, f"reachable at {url}, skew {skew:+.0f} s, exchange version {version}")


async def check_http_surface(
    http: aiohttp.ClientSession, name: str, base_url: str, path: str, setting: str
) -> CheckResult:
    fix = f"start the venue or set {setting}"
    try:
        status, _, skew = await _get(http, base_url + path)
    except Unreachable as exc:
        return failed(name, f"unreachable ({exc})", fix)
    if status >= 500 or status == 404:
        return failed(name, f"GET {base_url}{path} answered HTTP {status}", fix)
    problem = _skew_problem(skew)
    if problem:
        return failed(name, problem, _SKEW_FIX)
    busy = " (rate limited: HTTP 429)" if status == 429 else ""
    return passed(name, f"reachable at {base_url}{busy}, skew {skew:+.0f} s")


async def check_rtds(http: aiohttp.ClientSession, venue: VenueSettings) -> CheckResult:
    name, url = "venue.rtds", venue.rtds_ws_url
    fix = "start the venue or set venue.rtds_ws_url"
    try:
        async with http.ws_connect(url, autoping=True, heartbeat=None):
            pass
    except aiohttp.WSServerHandshakeError as exc:
        return failed(name, f"websocket handshake refused at {url} (HTTP {exc.status})", fix)
    except aiohttp.ClientError as exc:
        return failed(name, f"unreachable ({_why(exc, url)})", fix)
    return passed(name, f"websocket connects at {url}")
