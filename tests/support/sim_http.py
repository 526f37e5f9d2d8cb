"""Talking to the simulator over raw HTTP: a signing trader (Anvil key #0 by default in the tests), the
admin scenario read, and JSON shape checks against the recorded live fixtures."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp

from polyhunter.adapters.polymarket.auth import ApiCreds, l1_headers, l2_headers
from polyhunter.adapters.polymarket.order_signer import OrderSigner, exchange_domain, order_to_wire_json
from polyhunter.domain.signal import Side
from polyhunter.sim.server_app import SimServer


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def assert_same_shape(
    live: Any,
    sim: Any,
    path: str = "$",
    *,
    extra_ok: frozenset[str] = frozenset(),
    subset: bool = False,
    trimmed: bool = False,
    nullable: frozenset[str] = frozenset(),
    empty_ok: frozenset[str] = frozenset(),
) -> None:
    """``sim`` has ``live``'s shape, recursively: the same keys and the same JSON type per key.

    Strict by default: ``null`` stands in for another type only where the live capture itself holds
    ``null`` (the capture does not show the type) or where the key is in ``nullable`` (documented as
    "T or null"); an array empty on one side only is a failure (nothing was compared), and both
    empty passes only for the keys in ``empty_ok``. ``subset``: sim may add keys (older, smaller
    captures); ``extra_ok``: the only keys sim may add otherwise; ``trimmed``: sim serves only some of
    live's keys (metadata endpoints), but every key it serves exists live with the same type."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if live is None:
        return  # the capture shows no type here: anything sim serves is consistent with it
    if sim is None:
        assert key in nullable, f"{path}: sim null where live has {json_kind(live)} (not documented nullable)"
        return
    assert json_kind(live) == json_kind(sim), f"{path}: live {json_kind(live)} vs sim {json_kind(sim)}"
    options: dict[str, Any] = {
        "extra_ok": extra_ok,
        "subset": subset,
        "trimmed": trimmed,
        "nullable": nullable,
        "empty_ok": empty_ok,
    }
    if isinstance(live, dict):
        missing = set(live) - set(sim)
        assert trimmed or not missing, f"{path}: sim lacks {sorted(missing)}"
        extra = set(sim) - set(live) - extra_ok
        assert subset or not extra, f"{path}: sim adds {sorted(extra)}"
        for name in sorted(set(live) & set(sim)):
            assert_same_shape(live[name], sim[name], f"{path}.{name}", **options)
    elif isinstance(live, list):
        if not live and not sim:
            assert key in empty_ok, f"{path}: both arrays empty, nothing compared"
            return
        assert live, f"{path}: live array empty, sim has {len(sim)} items: nothing to compare with"
        assert sim, f"{path}: sim array empty, live has {len(live)} items"
        for i, item in enumerate(sim):
            assert_same_shape(live[0], item, f"{path}[{i}]", **options)


def assert_worst_first(book: dict[str, Any]) -> None:
    bids = [Decimal(level["price"]) for level in book["bids"]]
    asks = [Decimal(level["price"]) for level in book["asks"]]
    assert bids == sorted(bids), "bids must be ascending (best last)"
    assert asks == sorted(asks, reverse=True), "asks must be descending (best last)"
    assert len(book["hash"]) == 40
    assert int(book["hash"], 16) >= 0
    assert len(book["timestamp"]) == 13
    assert book["timestamp"].isdigit()


class Trader:
    """One EOA trading through raw HTTP with L1/L2 auth and V2 signed orders."""

    def __init__(self, http: aiohttp.ClientSession, sim: SimServer, key: str) -> None:
        self.http = http
        self.sim = sim
        self.signer = OrderSigner(key)
        self.key = key
        self.creds: ApiCreds | None = None

    @property
    def address(self) -> str:
        return self.signer.address

    async def login(self) -> ApiCreds:
        headers = l1_headers(self.key, 137)
        async with self.http.post(self.sim.urls["clob"] + "/auth/api-key", headers=headers) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        self.creds = ApiCreds(body["apiKey"], body["secret"], body["passphrase"])
        return self.creds

    async def fund(self, collateral: str) -> None:
        body = {"address": self.address, "collateral": collateral}
        async with self.http.post(self.sim.urls["admin"] + "/fund", json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        assert self.creds is not None
        text = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = l2_headers(self.address, self.creds, method, path, text)
        headers["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.sim.urls["clob"] + path, data=text, headers=headers
        ) as resp:
            return resp.status, await resp.json()

    async def order(
        self,
        token: str,
        side: Side,
        price: str,
        size: str,
        order_type: str = "GTC",
        *,
        neg_risk: bool = False,
    ) -> tuple[int, Any]:
        p, s = Decimal(price), Decimal(size)
        usdc, shares = int(p * s * 1_000_000), int(s * 1_000_000)
        maker, taker = (usdc, shares) if side is Side.BUY else (shares, usdc)
        order = self.signer.build(
            maker=None, token_id=int(token), maker_amount=maker, taker_amount=taker, side=side
        )
        signed = self.signer.sign(order, exchange_domain(137, 2, neg_risk))
        assert self.creds is not None
        return await self.request(
            "POST", "/order", order_to_wire_json(signed, self.creds.api_key, order_type)
        )


ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


async def scenario(http: aiohttp.ClientSession, server: SimServer) -> dict[str, object]:
    async with http.get(server.urls["admin"] + "/scenario") as resp:
        assert resp.status == 200
        data: dict[str, object] = await resp.json()
        return data
