"""The API on PostgreSQL with two accounts: every endpoint of the OpenAPI document answers 401
without credentials; every endpoint naming one of alice's resources answers 404 to bob (and changes
nothing); keys go in and never come out; the browser session needs its CSRF token; sign-in is
rate-limited; refused values name their field."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from polyhunter.settings import DbSettings
from tests.support.api_stack import Client, api_stack, sign_up

pytestmark = pytest.mark.integration

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER_LEADER = "0x1111111111111111111111111111111111111111"
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
PUBLIC = {"/api/v1/auth/register", "/api/v1/auth/login"}


def _config(follower_id: int, leader: str = LEADER) -> dict[str, Any]:
    return {"follower_id": follower_id, "leader": leader, "sizing": "FIXED_USDC", "sizing_value": "5"}


async def _alice_things(alice: Client) -> dict[str, int]:
    status, follower = await alice.call("POST", "/api/v1/followers", {"name": "main", "custody": "PAPER"})
    assert status == 201, follower
    status, leader = await alice.call("POST", "/api/v1/leaders", {"address": LEADER, "label": "whale"})
    assert status == 201, leader
    status, config = await alice.call("POST", "/api/v1/configs", _config(follower["id"]))
    assert status == 201, config
    status, token = await alice.call("POST", "/api/v1/tokens", {"label": "second"})
    assert status == 201, token
    return {
        "follower_id": follower["id"],
        "leader_id": leader["id"],
        "config_id": config["id"],
        "token_id": token["id"],
    }


def _operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if path.startswith("/api/v1/")
    ]


def _body(method: str, path: str, ids: dict[str, int]) -> Any:
    if method == "PATCH" and "/followers/" in path:
        return {"daily_cap_usdc": "1"}
    if method in ("PUT",) and "/configs/" in path:
        return _config(ids["follower_id"])
    return None


async def test_every_endpoint_is_owned(fresh_pg: DbSettings) -> None:
    async with api_stack(fresh_pg) as stack, aiohttp.ClientSession() as http:
        alice = await sign_up(http, stack.url, "alice")
        bob = await sign_up(http, stack.url, "bob")
        nobody = Client(http, stack.url)
        ids = await _alice_things(alice)
        _, doc = await nobody.call("GET", "/openapi.json")
        operations = _operations(doc)
        assert len(operations) >= 25

        # Without credentials: 401 everywhere but sign-up and sign-in.
        for method, path in operations:
            if path in PUBLIC:
                continue
            concrete = re.sub(r"\{[a-z_]+\}", "1", path)
            status, _ = await nobody.call(method, concrete, _body(method, path, ids) or {})
            assert status == 401, (method, path, status)
            status, _ = await nobody.call(
                method, concrete, headers={"Authorization": "Bearer ph_not-a-token"}
            )
            assert status == 401, (method, path, status)

        # Bob, on every path naming one of alice's resources: 404, as if it did not exist.
        bob_follower = (await bob.call("POST", "/api/v1/followers", {"name": "main"}))[1]["id"]
        tried = 0
        for method, path in operations:
            names = re.findall(r"\{([a-z_]+)\}", path)
            if not names:
                continue
            concrete = path
            for name in names:
                concrete = concrete.replace("{" + name + "}", str(ids[name]))
            status, data = await bob.call(method, concrete, _body(method, path, ids))
            assert status == 404, (method, concrete, status, data)
            tried += 1
            if method == "PUT":  # with his own follower in the body: still 404
                status, _ = await bob.call(method, concrete, _config(bob_follower))
                assert status == 404
        assert tried == 14  # followers 4, leaders 3, configs 6 (each with its daily PnL), tokens 1
        # ... and through query parameters and bodies
        for query in (f"follower_id={ids['follower_id']}", f"config_id={ids['config_id']}"):
            status, _ = await bob.call("GET", f"/api/v1/copies?{query}")
            assert status == 404, query
        status, _ = await bob.call("POST", "/api/v1/configs", _config(ids["follower_id"], OTHER_LEADER))
        assert status == 404
        # Bob's lists hold only his own.
        for path in ("/api/v1/leaders", "/api/v1/configs"):
            assert (await bob.call("GET", path))[1] == []
        assert [f["id"] for f in (await bob.call("GET", "/api/v1/followers"))[1]] == [bob_follower]
        assert (await bob.call("POST", "/api/v1/stop"))[1] == {"configs": 0}

        # Nothing of alice's changed.
        status, config = await alice.call("GET", f"/api/v1/configs/{ids['config_id']}")
        assert status == 200
        assert config["paused"] is False
        assert config["version"] == 1
        status, follower = await alice.call("GET", f"/api/v1/followers/{ids['follower_id']}")
        assert status == 200
        assert follower["daily_cap_usdc"] is None
        assert (await alice.call("GET", f"/api/v1/leaders/{ids['leader_id']}"))[0] == 200
        assert len((await alice.call("GET", "/api/v1/tokens"))[1]) == 3  # session, tests, second
        status, audit = await alice.call("GET", "/api/v1/audit")
        assert {"follower.create", "leader.add", "config.create", "token.create"} <= {
            a["action"] for a in audit
        }


async def test_keys_go_in_and_never_come_out(fresh_pg: DbSettings) -> None:
    async with api_stack(fresh_pg) as stack, aiohttp.ClientSession() as http:
        alice = await sign_up(http, stack.url, "alice")
        status, made = await alice.call(
            "POST", "/api/v1/followers", {"name": "own", "custody": "EOA", "private_key": KEY}
        )
        assert status == 201, made
        assert made["has_private_key"] is True
        assert made["wallet_address"].startswith("0x")
        seen = []
        for path in (
            "/api/v1/followers",
            f"/api/v1/followers/{made['id']}",
            "/api/v1/audit",
            "/openapi.json",
        ):
            async with http.get(stack.url + path, headers={"Authorization": f"Bearer {alice.token}"}) as resp:
                seen.append(await resp.text())
        assert all(KEY[2:] not in body and KEY[2:].upper() not in body for body in seen)
        async with stack.sessions() as session:
            stored = (await session.execute(text("SELECT private_key_enc FROM wallets"))).scalars().all()
        assert len(stored) == 1
        assert stored[0] is not None
        assert KEY[2:] not in stored[0]
        # a key that is not one: refused, naming the field, echoing nothing
        status, data = await alice.call(
            "POST", "/api/v1/followers", {"name": "bad", "custody": "EOA", "private_key": "0x1234"}
        )
        assert status == 422
        assert data["detail"][0]["loc"][-1] == "private_key"
        assert "0x1234" not in str(data)
        # the same wallet twice: a conflict
        status, _ = await alice.call(
            "POST", "/api/v1/followers", {"name": "again", "custody": "EOA", "private_key": KEY}
        )
        assert status == 409


async def test_browser_session_needs_csrf_and_sign_in_is_limited(fresh_pg: DbSettings) -> None:
    async with api_stack(fresh_pg, login_limit=3) as stack:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            creds = {"username": "carol", "password": "long enough"}
            async with browser.post(stack.url + "/api/v1/auth/register", json=creds) as r:
                assert r.status == 201
                csrf = (await r.json())["csrf_token"]
            async with browser.get(stack.url + "/api/v1/me") as r:
                assert r.status == 200
                assert (await r.json())["username"] == "carol"
            async with browser.post(stack.url + "/api/v1/leaders", json={"address": LEADER}) as r:
                assert r.status == 403  # the cookie alone cannot change anything
            async with browser.post(
                stack.url + "/api/v1/leaders", json={"address": LEADER}, headers={"X-CSRF-Token": "wrong"}
            ) as r:
                assert r.status == 403
            async with browser.post(
                stack.url + "/api/v1/leaders", json={"address": LEADER}, headers={"X-CSRF-Token": csrf}
            ) as r:
                assert r.status == 201
            async with browser.post(stack.url + "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 204
            async with browser.get(stack.url + "/api/v1/me") as r:
                assert r.status == 401  # revoked
        async with aiohttp.ClientSession() as http:
            wrong = {"username": "carol", "password": "not the password"}
            statuses = []
            for _ in range(3):
                async with http.post(stack.url + "/api/v1/auth/login", json=wrong) as r:
                    statuses.append(r.status)
            async with http.post(stack.url + "/api/v1/auth/login", json=creds) as r:
                statuses.append(r.status)
                assert r.headers.get("Retry-After")
        # 3 attempts a minute per name: the sign-up was the first, then two wrong passwords; then even
        # the right password waits
        assert statuses == [401, 401, 429, 429]


async def test_refused_values_name_their_field(fresh_pg: DbSettings) -> None:
    async with api_stack(fresh_pg) as stack, aiohttp.ClientSession() as http:
        alice = await sign_up(http, stack.url, "alice")
        follower = (await alice.call("POST", "/api/v1/followers", {"name": "main"}))[1]["id"]
        cases = [
            ({**_config(follower), "sizing_value": "5000"} | {"sizing": "PERCENT_OF_LEADER"}, "sizing_value"),
            ({**_config(follower), "max_slippage_bps": 20000}, "max_slippage_bps"),
            ({**_config(follower), "leader": "0x12"}, "leader"),
            ({**_config(follower), "sizing_value": "NaN"}, "sizing_value"),
            ({**_config(follower), "bogus": 1}, "bogus"),
        ]
        for body, field in cases:
            status, data = await alice.call("POST", "/api/v1/configs", body)
            assert status == 422, (body, data)
            assert data["detail"][0]["loc"][-1] == field, data
        assert (await alice.call("POST", "/api/v1/configs", _config(follower)))[0] == 201
        status, data = await alice.call("POST", "/api/v1/configs", _config(follower))
        assert status == 409
        status, _ = await alice.call(
            "POST", "/api/v1/auth/register", {"username": "alice", "password": "12345678"}
        )
        assert status == 409
