"""The simulator's venue with its money on chain (anvil): an own wallet's copies settle through the exchange
contract, moving pUSD and the real ConditionalTokens' positions, and the chain holds what the simulator's
ledger says, to the base unit, for every wallet; an order the chain cannot pay (no allowance, no balance)
is refused by the CLOB; a resolved market is redeemed by the wallet's own `redeemPositions` transaction
and its realized PnL (payout - cost - fees) is what the chain paid and took. DIRECT mode: a custody proxy
is an order's maker (signature type 3), the sim asks the proxy's `isValidSignature` on chain, and the
match settles from and to the proxy itself; the market resolves and the simulator, as it redeems for every
holder, sends each one's `redeemPositions`."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import address_topic, encode_call, event_topic
from polyhunter.adapters.chain.ctf_calls import ZERO_COLLECTION, read_position
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.chain.tx_signer import TxSigner
from polyhunter.adapters.chain.wallet_contracts import read_balance
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.eip712 import address_from_private_key, parse_private_key, sign_digest
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy, VenueError
from polyhunter.adapters.polymarket.order_signer import (
    OrderSigner,
    SignatureType,
    SignedOrder,
    exchange_domain,
    order_digest,
)
from polyhunter.domain.orders import ExecStatus, OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.execution.chain_redeem import ChainRedeemer
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_tokens import CTF, PUSD
from polyhunter.sim.chain_venue import EXCHANGE
from polyhunter.sim.ctf_ids import collection_id
from polyhunter.sim.custody_deploy import deploy_custody, send
from polyhunter.sim.server_app import SimServer
from tests.support.chain_tools import require_chain_tools
from tests.support.sim_stack import admin

pytestmark = pytest.mark.integration

CHAIN_ID = 31337
MICRO = Decimal(1_000_000)
FEE_RATE = Decimal("0.02")
ORDERS_MATCHED = event_topic("OrdersMatched(bytes32,address,uint8,uint256,uint256,uint256)")


class Follower:
    def __init__(self, sim: SimServer, rpc: JsonRpcClient, key: str) -> None:
        self.key = key
        self.address = address_from_private_key(key).lower()
        http = HttpClient(sim.urls["clob"], 10_000, RetryPolicy(max_retries=0))
        self.client = ClobTradingClient(http, OrderSigner(key), CHAIN_ID)
        account = EoaAccount(self.client, self.address, SignatureType.EOA, TxSigner(parse_private_key(key)))
        self.executor = EoaExecutor(
            {1: account}, chain_id=CHAIN_ID, redeemer=ChainRedeemer(rpc, CHAIN_ID, CTF, PUSD)
        )
        self.copies = 0

    async def copy(self, token: str, cid: str, side: Side, shares: str, limit: Decimal) -> OrderRequest:
        self.copies += 1
        return OrderRequest(
            copy_trade_id=self.copies,
            signal_key=f"sig-{self.copies}",
            config_id=1,
            user_id=1,
            token_id=token,
            condition_id=cid,
            side=side,
            shares=Decimal(shares),
            limit_price=limit,
            reference_price=limit,
            tick_size=Decimal("0.01"),
            neg_risk=False,
            order_type=OrderType.FOK,
            client_id=f"copy-{self.copies}",
        )


@pytest.fixture
async def venue(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[SimServer, JsonRpcClient, aiohttp.ClientSession]]:
    require_chain_tools()
    timing = getattr(request, "param", "fast")
    with AnvilProcess(chain_id=CHAIN_ID) as anvil:
        async with (
            SimServer(
                scenario="quiet",
                seed=21,
                port=0,
                chain_rpc=anvil.url,
                chain_id=CHAIN_ID,
                markets=2,
                timing=timing,
            ) as sim,
            JsonRpcClient(anvil.url, timeout_ms=30_000) as rpc,
            aiohttp.ClientSession() as http,
        ):
            yield sim, rpc, http


async def _follower(sim: SimServer, rpc: JsonRpcClient, http: aiohttp.ClientSession, usdc: str) -> Follower:
    follower = Follower(sim, rpc, "0x" + secrets.token_hex(32))
    await admin(http, sim.urls["admin"], "POST", "/fund", {"address": follower.address, "collateral": usdc})
    await admin(http, sim.urls["admin"], "POST", "/fund", {"address": follower.address, "pol": "1"})
    await follower.client.ensure_api_key()
    return follower


async def _chain_equals_ledger(sim: SimServer, rpc: JsonRpcClient) -> int:
    """Every wallet's pUSD and positions on chain equal the ledger's; the CTF holds the locked sets.
    The scenario is stopped first: its makers top up their wallets whenever they like."""
    await sim.runner.stop()
    await sim.state.chain_caught_up()
    ledger = sim.state.engine.ledger
    tokens = [t for info in sim.state.catalog for t in info.market.tokens]
    checked = 0
    for acct in ledger.accounts():
        assert await read_balance(rpc, PUSD, acct.address) == acct.cash, acct.address
        for token in tokens:
            assert await read_position(rpc, CTF, acct.address, token) == acct.tokens.get(token, 0), token
        checked += 1
    assert await read_balance(rpc, PUSD, CTF) == sum(ledger.locked.values())
    return checked


@pytest.mark.parametrize("venue", ["fast", "live"], indirect=True)
async def test_own_wallet_copies_settle_on_chain_and_redeem_by_its_transaction(
    venue: tuple[SimServer, JsonRpcClient, aiohttp.ClientSession],
) -> None:
    sim, rpc, http = venue
    info = sim.state.catalog[0]
    cid, (yes, no) = info.condition_id, info.market.tokens
    sim.state.engine.set_fee_rate(cid, FEE_RATE)
    for index, token in ((1, yes), (2, no)):  # the markets' ids are the ConditionalTokens' own
        call = encode_call("getCollectionId(bytes32,bytes32,uint256)", [ZERO_COLLECTION, cid, index])
        collection = "0x" + (await rpc.call_contract(CTF, call)).hex()
        assert collection == collection_id(cid, index)
        call = encode_call("getPositionId(address,bytes32)", [PUSD, collection])
        assert int.from_bytes(await rpc.call_contract(CTF, call), "big") == int(token)
    follower = await _follower(sim, rpc, http, "100")
    start = await read_balance(rpc, PUSD, follower.address)
    assert start == 100 * MICRO

    results = []
    for token, side, shares in (
        (yes, Side.BUY, "20"),
        (no, Side.BUY, "8"),
        (yes, Side.SELL, "6"),
        (no, Side.SELL, "3"),
    ):
        bid, ask = sim.state.engine.best_bid_ask(token)
        assert bid is not None
        assert ask is not None
        limit = ask + Decimal("0.02") if side is Side.BUY else bid - Decimal("0.02")
        result = await follower.executor.execute(await follower.copy(token, cid, side, shares, limit))
        assert result.status is ExecStatus.FILLED, result
        results.append((side, result))
    trades = sim.state.engine.trades()
    assert any(t.fee > 0 for t in trades), "the market charges taker fees"
    kinds = {m.match_type.name for t in trades for m in t.makers}
    assert kinds == {"NORMAL", "MINT", "MERGE"}, "swaps, full sets split and merged on the CTF"
    assert await _chain_equals_ledger(sim, rpc) >= 3

    matched = await rpc.get_logs(
        from_block=0,
        to_block="latest",
        addresses=[EXCHANGE],
        topics=[ORDERS_MATCHED, None, address_topic(follower.address)],
    )
    assert len(matched) == 4, "one settlement transaction per copy, the follower its taker"

    await admin(
        http,
        sim.urls["admin"],
        "POST",
        "/resolve",
        {"condition_id": cid, "winning_token": yes, "auto_redeem": False},
    )
    held = await follower.executor.held(1, (yes, no))
    assert held == {yes: Decimal(14), no: Decimal(5)}
    payout = await follower.executor.redeem(1, cid, (yes, no), yes)
    assert payout == Decimal(14)
    assert sim.state.redemptions == 0, "redeemed by the wallet's own transaction, not the sim's endpoint"
    assert await read_position(rpc, CTF, follower.address, yes) == 0

    cost = sum((r.amount or Decimal(0) for s, r in results if s is Side.BUY), Decimal(0))
    sold = sum((r.amount or Decimal(0) for s, r in results if s is Side.SELL), Decimal(0))
    fees = sum((r.fee for _, r in results), Decimal(0))
    assert fees > 0
    realized = payout + sold - cost - fees
    end = await read_balance(rpc, PUSD, follower.address)
    assert Decimal(end - start) / MICRO == realized, "payout - cost - fees is what the chain paid and took"
    assert sim.state.engine.account(follower.address).cash == end, "the venue saw the redemption"
    await _chain_equals_ledger(sim, rpc)
    await follower.client.close()


async def test_the_clob_refuses_what_the_chain_cannot_pay(
    venue: tuple[SimServer, JsonRpcClient, aiohttp.ClientSession],
) -> None:
    sim, rpc, http = venue
    info = sim.state.catalog[1]
    cid, (yes, _) = info.condition_id, info.market.tokens
    follower = await _follower(sim, rpc, http, "50")
    _, ask = sim.state.engine.best_bid_ask(yes)
    assert ask is not None

    await rpc.call("anvil_impersonateAccount", [follower.address])  # the wallet revokes its approval
    revoke = encode_call("approve(address,uint256)", [EXCHANGE, 0])
    tx = await rpc.send_transaction({"from": follower.address, "to": PUSD, "data": "0x" + revoke.hex()})
    assert (await rpc.wait_for_receipt(tx))["status"] == "0x1"
    assert sim.state.engine.account(follower.address).allowance is None, "the ledger still says unlimited"

    refused = await follower.executor.execute(
        await follower.copy(yes, cid, Side.BUY, "10", ask + Decimal("0.02"))
    )
    assert refused.status is ExecStatus.REJECTED
    assert "not enough balance / allowance" in (refused.error or "")
    unsold = await follower.executor.execute(await follower.copy(yes, cid, Side.SELL, "5", Decimal("0.01")))
    assert unsold.status is ExecStatus.REJECTED, "no shares on chain"
    assert sim.state.engine.trades() == [], "nothing reached the book"
    assert [r.error for r in sim.state.received][-2:] == ["not enough balance / allowance"] * 2
    await follower.client.close()


async def _direct_order(
    clob: ClobTradingClient, key: str, proxy: str, token: str, usdc: int, shares: int
) -> SignedOrder:
    """A BUY whose maker and signer is the proxy (signature type 3), signed by ``key`` over the order's
    EIP-712 digest: the proxy's EIP-1271 check is what makes it the proxy's."""
    order = clob.signer.build(
        maker=proxy,
        token_id=int(token),
        maker_amount=usdc,
        taker_amount=shares,
        side=Side.BUY,
        signature_type=SignatureType.POLY_1271,
    )
    digest = order_digest(order, exchange_domain(CHAIN_ID, 2, False))
    signature = sign_digest(parse_private_key(key), digest)
    return SignedOrder(order, "0x" + signature.hex(), "0x" + digest.hex())


async def test_direct_mode_the_proxy_is_the_maker_and_the_sim_asks_it_about_the_signature(
    venue: tuple[SimServer, JsonRpcClient, aiohttp.ClientSession],
) -> None:
    sim, rpc, http = venue
    info = sim.state.catalog[0]
    yes = info.market.tokens[0]
    custody = await deploy_custody(rpc, collateral=PUSD, ctf=CTF)
    owner = "0x" + secrets.token_hex(20)
    await send(rpc, custody.admin, custody.factory, cc.create_proxy(owner))
    proxy = cc.decode_address(await rpc.call_contract(custody.factory, cc.proxy_of(owner))).lower()
    worker, stranger = "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32)
    worker_address = address_from_private_key(worker)
    await send(rpc, custody.admin, custody.executor, cc.set_worker(worker_address, True))
    # the proxy's approval of the exchange is made for it (anvil): the hardened proxy forbids approvals
    # through the executor, and has no owner call for one yet
    await admin(http, sim.urls["admin"], "POST", "/fund", {"address": proxy, "collateral": "50"})

    _, ask = sim.state.engine.best_bid_ask(yes)
    assert ask is not None
    shares = 10_000_000
    usdc = int(ask * 10 * MICRO)
    clients = []
    for key in (stranger, worker):
        clob = ClobTradingClient(
            HttpClient(sim.urls["clob"], 10_000, RetryPolicy(max_retries=0)), OrderSigner(key), CHAIN_ID
        )
        await clob.ensure_api_key()
        clients.append(clob)
    with pytest.raises(VenueError, match="invalid signature"):  # an unlisted key cannot sign for it
        await clients[0].post_order(
            await _direct_order(clients[0], stranger, proxy, yes, usdc, shares), "FOK"
        )

    filled = await clients[1].post_order(
        await _direct_order(clients[1], worker, proxy, yes, usdc, shares), "FOK"
    )
    assert filled.success, filled
    assert filled.status == "matched"
    await sim.state.chain_caught_up()
    assert await read_position(rpc, CTF, proxy, yes) == shares, "the proxy holds the shares: no float"
    assert await read_balance(rpc, PUSD, proxy) == 50 * MICRO - usdc
    assert await read_balance(rpc, PUSD, worker_address) == 0
    await _chain_equals_ledger(sim, rpc)

    resolve = {"condition_id": info.condition_id, "winning_token": yes}  # the sim redeems for every holder
    await admin(http, sim.urls["admin"], "POST", "/resolve", resolve)
    assert await read_position(rpc, CTF, proxy, yes) == 0
    assert await read_balance(rpc, PUSD, proxy) == 50 * MICRO - usdc + shares
    await _chain_equals_ledger(sim, rpc)
    for clob in clients:
        await clob.close()
