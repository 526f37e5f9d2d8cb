"""The simulator's chain mode places the wallet contracts at their Polygon addresses (anvil): USDC.e and
POL arrive with `POST /fund`, the onramp wraps USDC.e into pUSD, and `/balance-allowance/update` is
where the venue reads the chain: the pUSD is credited once however often it is called, the allowance is
the smallest over the spenders, shares need every spender approved. Without a chain, the chain funding
is refused with a one-line reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from polyhunter.adapters.chain.abi import encode_call
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.chain.wallet_contracts import (
    MAX_UINT256,
    approve_call,
    read_balance,
    set_approval_for_all_call,
    wrap_call,
)
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_tokens import CTF, ONRAMP, PUSD, SPENDERS, USDCE
from polyhunter.sim.server_app import SimServer
from tests.support.chain_tools import require_chain_tools
from tests.support.sim_stack import admin

pytestmark = pytest.mark.integration


@pytest.fixture
async def chain_sim() -> AsyncIterator[SimServer]:
    require_chain_tools()
    with AnvilProcess() as anvil:
        async with SimServer(scenario="quiet", seed=4, port=0, chain_rpc=anvil.url, chain_id=31337) as sim:
            yield sim


async def _send(rpc: JsonRpcClient, sender: str, to: str, data: bytes) -> None:
    tx = await rpc.send_transaction({"from": sender, "to": to, "data": "0x" + data.hex()})
    assert (await rpc.wait_for_receipt(tx))["status"] == "0x1"


async def test_wrap_approvals_and_the_venue_update(chain_sim: SimServer) -> None:
    tokens = chain_sim.state.chain_tokens
    assert tokens is not None
    rpc = tokens.rpc
    wallet = (await rpc.accounts())[1].lower()  # unlocked on anvil: sends without a key here
    engine = chain_sim.state.engine
    async with aiohttp.ClientSession() as http:
        funded = await admin(
            http, chain_sim.urls["admin"], "POST", "/fund", {"address": wallet, "usdce": "25"}
        )
        assert funded["usdce"] == "25000000"
        await _send(rpc, wallet, USDCE, approve_call(ONRAMP, 25_000_000))
        await _send(rpc, wallet, ONRAMP, wrap_call(USDCE, wallet, 25_000_000))
        assert await read_balance(rpc, PUSD, wallet) == 25_000_000
        assert await read_balance(rpc, USDCE, wallet) == 0

        assert engine.account(wallet).cash == 0, "nothing credited before the venue re-reads the chain"
        await tokens.sync(engine, wallet)
        await tokens.sync(engine, wallet)
        account = engine.account(wallet)
        assert account.cash == 25_000_000, "credited once, not once per update"
        assert account.allowance == 0
        assert account.ctf_approved is False

        for spender in SPENDERS[:2]:
            await _send(rpc, wallet, PUSD, approve_call(spender, MAX_UINT256))
            await _send(rpc, wallet, CTF, set_approval_for_all_call(spender))
        await tokens.sync(engine, wallet)
        assert engine.account(wallet).allowance == 0, "the smallest allowance over the spenders"
        assert engine.account(wallet).ctf_approved is False
        await _send(rpc, wallet, PUSD, approve_call(SPENDERS[2], 7_000_000))
        await _send(rpc, wallet, CTF, set_approval_for_all_call(SPENDERS[2]))
        await tokens.sync(engine, wallet)
        assert engine.account(wallet).allowance == 7_000_000
        assert engine.account(wallet).ctf_approved is True
        await _send(rpc, wallet, PUSD, approve_call(SPENDERS[2], MAX_UINT256))
        await tokens.sync(engine, wallet)
        assert engine.account(wallet).allowance is None, "unlimited"


async def test_only_the_operator_mints(chain_sim: SimServer) -> None:
    tokens = chain_sim.state.chain_tokens
    assert tokens is not None
    stranger = (await tokens.rpc.accounts())[2]
    tx = await tokens.rpc.send_transaction(
        {
            "from": stranger,
            "to": PUSD,
            "data": "0x" + encode_call("mint(address,uint256)", [stranger, 1]).hex(),
            "gas": hex(100_000),
        }
    )
    assert (await tokens.rpc.wait_for_receipt(tx))["status"] == "0x0"
    assert await read_balance(tokens.rpc, PUSD, stranger) == 0


async def test_chain_funding_needs_the_chain_mode(sim: SimServer, http: aiohttp.ClientSession) -> None:
    body = {"address": "0x" + "ab" * 20, "usdce": "5"}
    async with http.post(sim.urls["admin"] + "/fund", json=body) as resp:
        assert resp.status == 400
        assert "need the chain mode" in (await resp.json())["error"]
    async with http.post(
        sim.urls["admin"] + "/fund", json={"address": "0x" + "ab" * 20, "pol": "1e40"}
    ) as resp:
        assert resp.status == 400
