"""Two processes signing in the same wallet at once (cluster workers starting together): one derives
(none yet), the other creates the key, then the first's create is refused (400, the key exists). The
client derives it then instead of failing: both hold the same key."""

from __future__ import annotations

from typing import Any

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.adapters.polymarket.order_signer import OrderSigner
from polyhunter.sim.server_app import SimServer
from tests.support.sim_http import ANVIL_KEY_0


async def test_a_key_created_between_derive_and_create_is_derived(sim: SimServer) -> None:
    url = sim.urls["clob"]
    other = ClobTradingClient(
        HttpClient(url, 10_000, RetryPolicy(max_retries=0)), OrderSigner(ANVIL_KEY_0), 137
    )
    http = HttpClient(url, 10_000, RetryPolicy(max_retries=0))
    client = ClobTradingClient(http, OrderSigner(ANVIL_KEY_0), 137)
    calls: list[str] = []
    request = http.request

    async def racing(method: str, path: str, **kwargs: Any) -> Any:
        calls.append(f"{method} {path}")
        if method == "POST" and path == "/auth/api-key":
            await other.ensure_api_key()  # the other process wins the race
        return await request(method, path, **kwargs)

    http.request = racing  # type: ignore[method-assign]
    try:
        creds = await client.ensure_api_key()
        assert creds == await other.ensure_api_key()
        assert calls == ["GET /auth/derive-api-key", "POST /auth/api-key", "GET /auth/derive-api-key"]
    finally:
        await client.close()
        await other.close()
