"""CLOB authentication for the simulator: L1 (``ClobAuth`` EIP-712) key creation/derivation and L2
(API-key HMAC) checks on every private call, with the live error answers.

* ``POST /auth/api-key`` creates a key for (signer, nonce); a second create for the same nonce is a
  400 ``Could not create api key`` (the SDK's ``create_or_derive_api_key`` then derives it).
* ``GET /auth/derive-api-key`` returns the existing key or 400 ``Could not derive api key!``.
* Bad L1 headers → 401 ``Invalid L1 Request headers``; bad L2 headers → 401
  ``Unauthorized/Invalid api key``.
"""

from __future__ import annotations

from aiohttp import web

from polyhunter.adapters.polymarket.auth import ApiCreds, AuthError, verify_l1_headers, verify_l2_headers
from polyhunter.adapters.polymarket.wire_clob_rest import ApiCreds as WireApiCreds
from polyhunter.sim.server_clob_market import STATE
from polyhunter.sim.server_http import BadRequest, json_response
from polyhunter.sim.state_records import ApiKey

__all__ = ["CHAIN_ID", "add_auth_routes", "authenticate"]

CHAIN_ID: web.AppKey[int] = web.AppKey("chain_id", int)
UNAUTHORIZED = "Unauthorized/Invalid api key"
INVALID_L1 = "Invalid L1 Request headers"
MAX_SKEW_S = 300


async def authenticate(request: web.Request, body: str | None) -> ApiKey:
    """Verify the L2 headers of ``request`` whose raw body is ``body``; the key or a 401."""
    state = request.app[STATE]

    def lookup(api_key: str) -> tuple[str, ApiCreds] | None:
        key = state.api_key(api_key)
        return None if key is None else (key.address, ApiCreds(key.api_key, key.secret, key.passphrase))

    try:
        _, creds = verify_l2_headers(
            request.headers,
            lookup,
            request.method,
            request.path,
            body or None,
            now_s=state.now_s(),
            max_skew_s=MAX_SKEW_S,
        )
    except AuthError:
        raise BadRequest(UNAUTHORIZED, 401) from None
    key = state.api_key(creds.api_key)
    assert key is not None
    return key


def _l1(request: web.Request) -> tuple[str, int]:
    state = request.app[STATE]
    try:
        return verify_l1_headers(
            request.headers, request.app[CHAIN_ID], now_s=state.now_s(), max_skew_s=MAX_SKEW_S
        )
    except AuthError:
        raise BadRequest(INVALID_L1, 401) from None


def _creds(key: ApiKey) -> WireApiCreds:
    return WireApiCreds(api_key=key.api_key, secret=key.secret, passphrase=key.passphrase)


async def _create_api_key(request: web.Request) -> web.Response:
    address, nonce = _l1(request)
    key = request.app[STATE].create_api_key(address, nonce)
    if key is None:
        raise BadRequest("Could not create api key")
    return json_response(_creds(key))


async def _derive_api_key(request: web.Request) -> web.Response:
    address, nonce = _l1(request)
    key = request.app[STATE].derive_api_key(address, nonce)
    if key is None:
        raise BadRequest("Could not derive api key!")
    return json_response(_creds(key))


async def _api_keys(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    return json_response({"apiKeys": [key.api_key]})


async def _delete_api_key(request: web.Request) -> web.Response:
    key = await authenticate(request, None)
    request.app[STATE].delete_api_key(key.api_key)
    return json_response("OK")


async def _closed_only(request: web.Request) -> web.Response:
    await authenticate(request, None)
    return json_response({"closed_only": False})


def add_auth_routes(app: web.Application) -> None:
    app.router.add_post("/auth/api-key", _create_api_key)
    app.router.add_get("/auth/derive-api-key", _derive_api_key)
    app.router.add_get("/auth/api-keys", _api_keys)
    app.router.add_delete("/auth/api-key", _delete_api_key)
    app.router.add_get("/auth/ban-status/closed-only", _closed_only)
