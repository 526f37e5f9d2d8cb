"""The proxy custody contracts on anvil: factory (CREATE2), proxy (owner, bound executor, allowlist, pause,
withdrawals), executor (listed workers, pause, batch settlement, settled once per copy, EIP-1271 for DIRECT)."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode, encode_call, event_topic, function_selector
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError
from polyhunter.adapters.polymarket.eip712 import address_from_private_key, parse_private_key, sign_digest
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_deploy import CustodyDeployment, compiled, deploy, deploy_custody, send
from tests.support.chain_tools import require_chain_tools

pytestmark = pytest.mark.integration

TOKEN = 123456789
USDC = 1_000_000  # one pUSD in base units


@dataclass
class Rig:
    rpc: JsonRpcClient
    d: CustodyDeployment
    user: str
    worker: str
    stranger: str
    proxy: str


async def _call(rpc: JsonRpcClient, to: str, data: bytes, sender: str | None = None) -> bytes:
    tx: dict[str, str] = {"to": to, "data": "0x" + data.hex()}
    if sender:
        tx["from"] = sender
    result = await rpc.call("eth_call", [tx, "latest"])
    return bytes.fromhex(str(result)[2:])


async def _reverts(rpc: JsonRpcClient, sender: str, to: str, data: bytes, reason: str) -> None:
    """The call reverts with ``reason`` (eth_call), and sent anyway it fails on chain and moves nothing."""
    with pytest.raises(RpcError) as caught:
        await _call(rpc, to, data, sender)
    assert reason in caught.value.message, caught.value.message
    tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(1_000_000)}
    receipt = await rpc.wait_for_receipt(await rpc.send_transaction(tx))
    assert receipt["status"] == "0x0"


async def _usdc(rig: Rig, who: str) -> int:
    return cc.decode_uint(await _call(rig.rpc, rig.d.collateral, cc.erc20_balance_of(who)))


async def _shares(rig: Rig, who: str) -> int:
    return cc.decode_uint(await _call(rig.rpc, rig.d.ctf, cc.erc1155_balance_of(who, TOKEN)))


async def _mint(rig: Rig, to: str, usdc: int = 0, shares: int = 0) -> None:
    if usdc:
        await send(rig.rpc, rig.d.admin, rig.d.collateral, encode_mint(to, usdc))
    if shares:
        await send(rig.rpc, rig.d.admin, rig.d.ctf, encode_mint_shares(to, shares))


def encode_mint(to: str, amount: int) -> bytes:
    return function_selector("mint(address,uint256)") + encode(["address", "uint256"], [to, amount])


def encode_mint_shares(to: str, amount: int) -> bytes:
    return function_selector("mint(address,uint256,uint256)") + encode(
        ["address", "uint256", "uint256"], [to, TOKEN, amount]
    )


def _copy_id() -> bytes:
    return secrets.token_bytes(32)


async def _setup(url: str) -> Rig:
    async with JsonRpcClient(url) as rpc:
        d = await deploy_custody(rpc)
        accounts = [a.lower() for a in await rpc.accounts()]
        user, worker, stranger = accounts[1], accounts[2], accounts[3]
        await send(rpc, d.admin, d.executor, cc.set_worker(worker, True))
        await send(rpc, d.admin, d.factory, cc.create_proxy(user))
        proxy = cc.decode_address(await _call(rpc, d.factory, cc.proxy_of(user)))
        # the worker lets the executor move its shares (BUY settlement) and collateral (SELL proceeds)
        await send(rpc, worker, d.ctf, cc.erc1155_set_approval_for_all(d.executor, True))
        await send(rpc, worker, d.collateral, cc.erc20_approve(d.executor, 2**256 - 1))
        return Rig(rpc, d, user, worker, stranger, proxy)


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[str, Rig]]:
    """One chain and one deployment per module; each test runs on a snapshot reverted after it."""
    require_chain_tools()
    with AnvilProcess() as anvil:
        yield anvil.url, asyncio.run(_setup(anvil.url))


@pytest.fixture
async def rig(deployed: tuple[str, Rig]) -> AsyncIterator[Rig]:
    url, template = deployed
    async with JsonRpcClient(url) as rpc:
        snapshot = await rpc.call("evm_snapshot")
        try:
            yield dataclasses.replace(template, rpc=rpc)
        finally:
            assert await rpc.call("evm_revert", [snapshot]) is True


# --- factory ---------------------------------------------------------------------------------------------


async def test_predicted_address_is_the_deployed_one(rig: Rig) -> None:
    fresh = rig.stranger
    predicted = cc.decode_address(await _call(rig.rpc, rig.d.factory, cc.predict_proxy(fresh)))
    creation = compiled("PolyHunterProxy").bytecode
    assert predicted == cc.predicted_proxy_address(rig.d.factory, fresh, creation)  # off chain, same
    assert await rig.rpc.call("eth_getCode", [predicted, "latest"]) == "0x"  # known before deployment
    receipt = await send(rig.rpc, rig.d.admin, rig.d.factory, cc.create_proxy(fresh))
    created = [
        log for log in receipt["logs"] if log["topics"][0] == event_topic("ProxyCreated(address,address)")
    ]
    assert len(created) == 1
    assert "0x" + created[0]["topics"][2][-40:] == predicted
    assert cc.decode_address(await _call(rig.rpc, rig.d.factory, cc.proxy_of(fresh))) == predicted
    assert len(str(await rig.rpc.call("eth_getCode", [predicted, "latest"]))) > 2
    owner = cc.decode_address(await _call(rig.rpc, predicted, function_selector("owner()")))
    executor = cc.decode_address(await _call(rig.rpc, predicted, function_selector("executor()")))
    assert (owner, executor) == (fresh, rig.d.executor)


async def test_one_proxy_per_user(rig: Rig) -> None:
    await _reverts(rig.rpc, rig.stranger, rig.d.factory, cc.create_proxy(rig.user), "Factory: proxy exists")


async def test_only_the_admin_relays_to_proxies(rig: Rig) -> None:
    await _reverts(
        rig.rpc, rig.stranger, rig.d.factory, cc.pause_proxy(rig.proxy, True), "Factory: not admin"
    )
    data = cc.set_proxy_allowed(rig.proxy, rig.stranger, cc.ERC20_TRANSFER, True)
    await _reverts(rig.rpc, rig.stranger, rig.d.factory, data, "Factory: not admin")
    await _reverts(
        rig.rpc,
        rig.d.admin,
        rig.proxy,
        function_selector("bindExecutor(address)") + encode(["address"], [rig.stranger]),
        "Proxy: not factory",
    )


# --- settlement and its guards ---------------------------------------------------------------------------


async def test_batch_settlement_moves_exactly_and_settles_each_copy_once(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=100 * USDC, shares=5 * USDC)
    await _mint(rig, rig.worker, usdc=50 * USDC, shares=10 * USDC)
    buy = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 10 * USDC, 6_200_000, 31_000)
    sell = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.SELL, TOKEN, 0, 2_400_000, 12_000)
    receipt = await send(rig.rpc, rig.worker, rig.d.executor, cc.settle([buy, sell]))
    settled_topic = event_topic(cc.SETTLED_EVENT)
    assert [log["topics"][1] for log in receipt["logs"] if log["topics"][0] == settled_topic] == [
        "0x" + buy.copy_id.hex(),
        "0x" + sell.copy_id.hex(),
    ]
    expected = {
        rig.proxy: (100 * USDC - 6_200_000 - 31_000 + 2_400_000 - 12_000, 15 * USDC),
        rig.worker: (50 * USDC + 6_200_000 - 2_400_000, 0),
        rig.d.treasury: (43_000, 0),
    }
    for who, (usdc, shares) in expected.items():
        assert (await _usdc(rig, who), await _shares(rig, who)) == (usdc, shares), who
    # the same batch again: both copies were settled, nothing moves
    receipt = await send(rig.rpc, rig.worker, rig.d.executor, cc.settle([buy, sell]))
    assert not [log for log in receipt["logs"] if log["topics"][0] == settled_topic]
    for who, (usdc, shares) in expected.items():
        assert (await _usdc(rig, who), await _shares(rig, who)) == (usdc, shares), who
    assert cc.decode_bool(await _call(rig.rpc, rig.d.executor, cc.settled(buy.copy_id)))


async def test_a_sell_first_pulls_the_proxys_shares(rig: Rig) -> None:
    await _mint(rig, rig.proxy, shares=7 * USDC)
    await send(rig.rpc, rig.worker, rig.d.executor, cc.pull_shares(rig.proxy, TOKEN, 3 * USDC))
    assert (await _shares(rig, rig.proxy), await _shares(rig, rig.worker)) == (4 * USDC, 3 * USDC)


async def test_an_unlisted_worker_reverts(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=10 * USDC, shares=USDC)
    item = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    for data in (
        cc.settle([item]),
        cc.pull_shares(rig.proxy, TOKEN, USDC),
        cc.executor_execute(rig.proxy, rig.d.collateral, cc.erc20_approve(rig.stranger, 1)),
    ):
        await _reverts(rig.rpc, rig.stranger, rig.d.executor, data, "Executor: not a listed worker")
    await send(rig.rpc, rig.d.admin, rig.d.executor, cc.set_worker(rig.worker, False))  # delisted
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Executor: not a listed worker")
    assert await _usdc(rig, rig.proxy) == 10 * USDC


async def test_a_paused_executor_reverts(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=10 * USDC)
    item = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.set_executor_paused(True), "Executor: not admin")
    await send(rig.rpc, rig.d.admin, rig.d.executor, cc.set_executor_paused(True))
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Executor: paused")
    await _reverts(
        rig.rpc, rig.worker, rig.d.executor, cc.pull_shares(rig.proxy, TOKEN, 1), "Executor: paused"
    )
    await send(rig.rpc, rig.d.admin, rig.d.executor, cc.set_executor_paused(False))
    await send(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]))
    assert await _usdc(rig, rig.proxy) == 9 * USDC


async def test_a_paused_proxy_reverts_and_its_owner_still_withdraws(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=10 * USDC, shares=4 * USDC)
    item = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    await _reverts(rig.rpc, rig.stranger, rig.proxy, cc.proxy_set_paused(True), "Proxy: not owner or factory")
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_set_paused(True))  # the owner pauses the platform out
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Proxy: paused")
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.pull_shares(rig.proxy, TOKEN, 1), "Proxy: paused")
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_withdraw(rig.d.collateral, rig.user, 7 * USDC))
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_withdraw_shares(rig.d.ctf, TOKEN, rig.user, 4 * USDC))
    assert (await _usdc(rig, rig.proxy), await _usdc(rig, rig.user)) == (3 * USDC, 7 * USDC)
    assert (await _shares(rig, rig.proxy), await _shares(rig, rig.user)) == (0, 4 * USDC)
    # the platform admin's pause (through the factory) traps nothing either
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_set_paused(False))
    await send(rig.rpc, rig.d.admin, rig.d.factory, cc.pause_proxy(rig.proxy, True))
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Proxy: paused")
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_withdraw(rig.d.collateral, rig.user, 3 * USDC))
    assert await _usdc(rig, rig.proxy) == 0


async def test_a_non_owner_withdrawal_reverts(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=10 * USDC, shares=USDC)
    for sender in (rig.stranger, rig.worker, rig.d.admin):
        await _reverts(
            rig.rpc, sender, rig.proxy, cc.proxy_withdraw(rig.d.collateral, sender, USDC), "Proxy: not owner"
        )
        await _reverts(
            rig.rpc,
            sender,
            rig.proxy,
            cc.proxy_withdraw_shares(rig.d.ctf, TOKEN, sender, 1),
            "Proxy: not owner",
        )
    assert (await _usdc(rig, rig.proxy), await _shares(rig, rig.proxy)) == (10 * USDC, USDC)


async def test_a_wrong_executor_reverts(rig: Rig) -> None:
    """A second executor, its own listed worker, the same factory: the proxy is bound to the first one."""
    await _mint(rig, rig.proxy, usdc=10 * USDC)
    other = await deploy(
        rig.rpc,
        rig.d.admin,
        compiled("PolyHunterExecutor"),
        encode(["address", "address", "address"], [rig.d.collateral, rig.d.ctf, rig.stranger]),
    )
    await send(rig.rpc, rig.d.admin, other, cc.set_factory(rig.d.factory))
    await send(rig.rpc, rig.d.admin, other, cc.set_worker(rig.stranger, True))
    item = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    await _reverts(rig.rpc, rig.stranger, other, cc.settle([item]), "Proxy: not executor")
    # nor may a worker (or anyone) call the proxy directly
    transfer = cc.proxy_execute(rig.d.collateral, cc.erc20_transfer(rig.worker, USDC))
    await _reverts(rig.rpc, rig.worker, rig.proxy, transfer, "Proxy: not executor")
    # rebinding the proxy (admin, through the factory) moves the right to act
    await send(rig.rpc, rig.d.admin, rig.d.factory, cc.bind_proxy_executor(rig.proxy, other))
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Proxy: not executor")
    assert await _usdc(rig, rig.proxy) == 10 * USDC


async def test_a_proxy_not_made_by_the_factory_is_refused(rig: Rig) -> None:
    item = cc.Settlement(_copy_id(), rig.stranger, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Executor: unknown proxy")


async def test_a_target_or_selector_not_allowlisted_reverts(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=10 * USDC, shares=USDC)
    # the default allowlist: settlement, a SELL's pull and redemption; no approval of any kind
    for target, function in ((rig.d.collateral, f) for f in cc.FORBIDDEN):
        on_list = await _call(
            rig.rpc, rig.proxy, encode_call("allowed(address,bytes4)", [target, cc.selector(function)])
        )
        assert not cc.decode_bool(on_list), function
    # the executor's own allowlist (its generic execute) is empty: a listed worker cannot approve anyone
    for target, data in (
        (rig.d.collateral, cc.erc20_approve(rig.worker, USDC)),
        (rig.d.ctf, cc.erc1155_set_approval_for_all(rig.stranger, True)),
        (rig.d.collateral, cc.erc20_transfer(rig.worker, USDC)),
    ):
        await _reverts(
            rig.rpc,
            rig.worker,
            rig.d.executor,
            cc.executor_execute(rig.proxy, target, data),
            "Executor: target or selector not allowed",
        )
    # on the executor's list but not on the proxy's: the proxy refuses
    balance_of = cc.erc20_balance_of(rig.proxy)
    await send(
        rig.rpc,
        rig.d.admin,
        rig.d.executor,
        cc.set_executor_allowed(rig.d.collateral, "balanceOf(address)", True),
    )
    await _reverts(
        rig.rpc,
        rig.worker,
        rig.d.executor,
        cc.executor_execute(rig.proxy, rig.d.collateral, balance_of),
        "Proxy: target or selector not allowed",
    )
    # an approval on both lists (the admin tried): the proxy refuses it whatever its list says, and the
    # factory refuses to put one there
    await send(
        rig.rpc,
        rig.d.admin,
        rig.d.executor,
        cc.set_executor_allowed(rig.d.collateral, cc.ERC20_APPROVE, True),
    )
    await _reverts(
        rig.rpc,
        rig.worker,
        rig.d.executor,
        cc.executor_execute(rig.proxy, rig.d.collateral, cc.erc20_approve(rig.worker, USDC)),
        "Proxy: selector never allowed",
    )
    for function in cc.FORBIDDEN:
        data = cc.set_proxy_allowed(rig.proxy, rig.d.collateral, function, True)
        await _reverts(rig.rpc, rig.d.admin, rig.d.factory, data, "Proxy: selector never allowed")
        await _reverts(
            rig.rpc,
            rig.d.admin,
            rig.d.factory,
            cc.add_default_allowed(rig.d.collateral, function),
            "Factory: selector never allowed",
        )
    # an allowlisted transfer to an address that is neither a listed worker nor the treasury: refused
    await send(
        rig.rpc,
        rig.d.admin,
        rig.d.executor,
        cc.set_executor_allowed(rig.d.collateral, cc.ERC20_TRANSFER, True),
    )
    await send(
        rig.rpc,
        rig.d.admin,
        rig.d.executor,
        cc.set_executor_allowed(rig.d.ctf, cc.ERC1155_SAFE_TRANSFER_FROM, True),
    )
    await _reverts(
        rig.rpc,
        rig.worker,
        rig.d.executor,
        cc.executor_execute(rig.proxy, rig.d.collateral, cc.erc20_transfer(rig.stranger, USDC)),
        "Proxy: recipient not a worker or the treasury",
    )
    shares_out = cc.erc1155_safe_transfer_from(rig.proxy, rig.stranger, TOKEN, 1)
    await _reverts(
        rig.rpc,
        rig.worker,
        rig.d.executor,
        cc.executor_execute(rig.proxy, rig.d.ctf, shares_out),
        "Proxy: recipient not a worker",
    )
    assert (await _usdc(rig, rig.proxy), await _shares(rig, rig.proxy)) == (10 * USDC, USDC)
    # the admin removes a proxy's selector: refused from then on
    await send(
        rig.rpc,
        rig.d.admin,
        rig.d.factory,
        cc.set_proxy_allowed(rig.proxy, rig.d.collateral, cc.ERC20_TRANSFER, False),
    )
    item = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    await _reverts(
        rig.rpc, rig.worker, rig.d.executor, cc.settle([item]), "Proxy: target or selector not allowed"
    )


async def test_a_resolved_market_is_redeemed_into_the_proxy(rig: Rig) -> None:
    condition, other = secrets.token_bytes(32), TOKEN + 1
    await _mint(rig, rig.proxy, usdc=2 * USDC, shares=3 * USDC)
    await send(rig.rpc, rig.d.admin, rig.d.ctf, encode_mint_id(rig.proxy, other, 5 * USDC))
    await send(rig.rpc, rig.d.admin, rig.d.ctf, cc.ctf_set_condition(condition, [TOKEN, other]))
    await _mint(rig, rig.d.ctf, usdc=3 * USDC)  # the collateral behind the winning shares
    redeem = cc.executor_redeem(rig.proxy, condition, [1, 2])
    await _reverts(rig.rpc, rig.worker, rig.d.executor, redeem, "CTF: result for condition not received yet")
    await send(rig.rpc, rig.d.admin, rig.d.ctf, cc.ctf_report_payouts(condition, [1, 0]))  # TOKEN won
    await _reverts(rig.rpc, rig.stranger, rig.d.executor, redeem, "Executor: not a listed worker")
    receipt = await send(rig.rpc, rig.worker, rig.d.executor, redeem)
    redeemed = [
        log for log in receipt["logs"] if log["topics"][0] == event_topic("Redeemed(address,bytes32,uint256)")
    ]
    assert len(redeemed) == 1
    assert int(redeemed[0]["data"], 16) == 3 * USDC
    assert await _usdc(rig, rig.proxy) == 5 * USDC  # the payout reached the proxy, nobody else
    assert await _usdc(rig, rig.worker) == 0
    assert await _shares(rig, rig.proxy) == 0


def encode_mint_id(to: str, token_id: int, amount: int) -> bytes:
    return function_selector("mint(address,uint256,uint256)") + encode(
        ["address", "uint256", "uint256"], [to, token_id, amount]
    )


async def test_a_proxy_that_cannot_pay_reverts_the_batch(rig: Rig) -> None:
    await _mint(rig, rig.proxy, usdc=USDC)
    ok = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, USDC, 0)
    short = cc.Settlement(_copy_id(), rig.proxy, cc.SettleSide.BUY, TOKEN, 0, 1, 0)
    await _reverts(rig.rpc, rig.worker, rig.d.executor, cc.settle([ok, short]), "ERC20: insufficient balance")
    assert not cc.decode_bool(await _call(rig.rpc, rig.d.executor, cc.settled(ok.copy_id)))  # all or nothing
    assert await _usdc(rig, rig.proxy) == USDC


# --- EIP-1271 (DIRECT mode) ------------------------------------------------------------------------------


async def test_the_proxy_accepts_a_listed_workers_signature_only(rig: Rig) -> None:
    worker_key, other_key = secrets.token_bytes(32), secrets.token_bytes(32)
    worker = address_from_private_key(worker_key).lower()
    await send(rig.rpc, rig.d.admin, rig.d.executor, cc.set_worker(worker, True))
    digest = secrets.token_bytes(32)

    async def verdict(key: bytes) -> bytes:
        signature = sign_digest(parse_private_key(key), digest)
        return (await _call(rig.rpc, rig.proxy, cc.is_valid_signature(digest, signature)))[:4]

    assert await verdict(worker_key) == cc.ERC1271_MAGIC
    assert await verdict(other_key) == b"\xff" * 4
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_set_paused(True))
    assert await verdict(worker_key) == b"\xff" * 4
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_set_paused(False))
    await send(rig.rpc, rig.d.admin, rig.d.executor, cc.set_executor_paused(True))
    assert await verdict(worker_key) == b"\xff" * 4


async def test_only_the_owner_approves_an_exchange_for_direct_mode_paused_or_not(rig: Rig) -> None:
    """DIRECT mode: the owner lets an exchange (here: the stranger) take the proxy's collateral and move its
    shares; nobody else can (the admin, a listed worker, through the executor or not), and the owner can
    revoke it while the proxy is paused."""
    await _mint(rig, rig.proxy, usdc=10 * USDC, shares=2 * USDC)
    exchange = rig.stranger
    allow = cc.proxy_approve_token(rig.d.collateral, exchange, 3 * USDC)
    operate = cc.proxy_approve_operator(rig.d.ctf, exchange, True)
    for sender in (rig.stranger, rig.worker, rig.d.admin):
        await _reverts(rig.rpc, sender, rig.proxy, allow, "Proxy: not owner")
        await _reverts(rig.rpc, sender, rig.proxy, operate, "Proxy: not owner")
    await send(rig.rpc, rig.user, rig.proxy, allow)
    await send(rig.rpc, rig.user, rig.proxy, operate)
    allowance = await _call(rig.rpc, rig.d.collateral, cc.erc20_allowance(rig.proxy, exchange))
    assert cc.decode_uint(allowance) == 3 * USDC
    operator = await _call(rig.rpc, rig.d.ctf, cc.erc1155_is_approved_for_all(rig.proxy, exchange))
    assert cc.decode_bool(operator)
    # the exchange settles from the proxy: collateral out, shares out
    await send(rig.rpc, exchange, rig.d.collateral, cc.erc20_transfer_from(rig.proxy, exchange, 2 * USDC))
    await send(rig.rpc, exchange, rig.d.ctf, cc.erc1155_safe_transfer_from(rig.proxy, exchange, TOKEN, USDC))
    assert (await _usdc(rig, rig.proxy), await _shares(rig, rig.proxy)) == (8 * USDC, USDC)
    # paused, the owner still revokes both; the exchange can take nothing more
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_set_paused(True))
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_approve_token(rig.d.collateral, exchange, 0))
    await send(rig.rpc, rig.user, rig.proxy, cc.proxy_approve_operator(rig.d.ctf, exchange, False))
    pull = cc.erc20_transfer_from(rig.proxy, exchange, 1)
    await _reverts(rig.rpc, exchange, rig.d.collateral, pull, "ERC20: insufficient allowance")
    take = cc.erc1155_safe_transfer_from(rig.proxy, exchange, TOKEN, 1)
    await _reverts(rig.rpc, exchange, rig.d.ctf, take, "ERC1155: not approved")
    # a zero spender or operator is refused
    zero = "0x" + "00" * 20
    await _reverts(
        rig.rpc, rig.user, rig.proxy, cc.proxy_approve_token(rig.d.collateral, zero, 1), "Proxy: zero spender"
    )
    await _reverts(
        rig.rpc, rig.user, rig.proxy, cc.proxy_approve_operator(rig.d.ctf, zero, True), "Proxy: zero operator"
    )
