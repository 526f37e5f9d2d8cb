"""A CLOB trading client whose every request is answered with one canned body (no I/O): for tests of how
the client reads the venue's answers."""

from __future__ import annotations

import base64
from typing import Any, cast

from polyhunter.adapters.polymarket.auth import ApiCreds
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient
from polyhunter.adapters.polymarket.order_signer import OrderSigner


class Answer:
    """Stands in for the HTTP client: every request gets ``body``."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def request(self, *_args: Any, **_kwargs: Any) -> bytes:
        return self.body


class Signer:
    address = "0x" + "11" * 20


def answering_client(body: bytes) -> ClobTradingClient:
    """A client (chain 137, level-2 credentials) to which the venue answers ``body`` every time."""
    creds = ApiCreds("key", base64.urlsafe_b64encode(b"s" * 32).decode(), "pass")
    return ClobTradingClient(cast(HttpClient, Answer(body)), cast(OrderSigner, Signer()), 137, creds)
