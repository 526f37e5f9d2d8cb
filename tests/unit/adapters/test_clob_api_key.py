"""`ClobTradingClient.ensure_api_key`: derive, else create, else (another process created it meanwhile)
derive again; an auth refusal is not papered over."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient, VenueAuthError, VenueError
from polyhunter.adapters.polymarket.order_signer import OrderSigner

KEY = "0x" + "4f" * 32
CREDS = json.dumps({"apiKey": "k", "secret": "c2VjcmV0", "passphrase": "p"}).encode()


class Script:
    """Answers each request in turn: bytes are returned, exceptions raised; records (method, path)."""

    def __init__(self, *answers: bytes | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str]] = []

    async def request(self, method: str, path: str, **_kwargs: Any) -> bytes:
        self.calls.append((method, path))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(script: Script) -> ClobTradingClient:
    return ClobTradingClient(cast(HttpClient, script), OrderSigner(KEY), 137)


async def test_a_key_created_by_another_process_meanwhile_is_derived() -> None:
    """Two workers with the same wallet start at once: both find no key, both create; the second create
    is refused (the key exists now) and that worker derives it."""
    script = Script(
        VenueError(400, "Could not derive api key!"),
        VenueError(400, "Could not create api key"),
        CREDS,
    )
    creds = await _client(script).ensure_api_key()
    assert creds.api_key == "k"
    assert script.calls == [
        ("GET", "/auth/derive-api-key"),
        ("POST", "/auth/api-key"),
        ("GET", "/auth/derive-api-key"),
    ]


async def test_an_auth_refusal_of_the_create_is_raised() -> None:
    script = Script(
        VenueError(400, "Could not derive api key!"), VenueAuthError(401, "Invalid L1 Request headers")
    )
    with pytest.raises(VenueAuthError):
        await _client(script).ensure_api_key()
    assert len(script.calls) == 2
