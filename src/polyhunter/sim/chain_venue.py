"""The simulator's venue with its money on chain (chain mode): every match settles on anvil.

``ChainVenue.start()`` places the real Gnosis ConditionalTokens (the npm package's artifact) at the CTF's
Polygon address (``ChainTokens``), places ``contracts/SimCtfExchange.sol`` at the CTF Exchange V2 address,
prepares one condition per market (the simulator is the oracle; the markets' ids are the CTF's, see
``ctf_ids.py``) and registers its two positions with the exchange. From then on, in the order the
simulator's ledger sees them (one queue: the chain mirror's sender):

* a deposit (``/fund``, ``sim fund``, a scenario topping up its agents) mints the collateral (pUSD) on
  chain and, for a wallet funded "set up", approves the exchanges from it (anvil impersonation);
  shares are given by splitting collateral into full sets on the CTF;
* a match is one ``matchOrders`` transaction to the exchange, which moves the collateral and the CTF
  positions between the makers and the taker through their approvals and logs the real ``OrderFilled``;
* a resolution is ``reportPayouts`` from the oracle and, when the simulator redeems for the holders,
  their ``redeemPositions``; a wallet that redeems by its own transaction is seen at its next
  ``/balance-allowance/update`` (``reconcile``).

The ledger stays the matching engine's book (reservations, positions, PnL); the chain holds the balances,
which equal the ledger's once the queue is sent. ``pending`` is the collateral still in flight per wallet
(in the ledger, not yet on chain): what the venue's chain reads subtract. ``refusal`` is the CLOB's check
of a new order against the chain (balance, allowance, approval) before it reaches the book; with nothing of
the maker's in flight, the book's pUSD and shares of the maker are then set to the chain's (money moved by
plain transfers, e.g. a PROXY fleet worker's settlements with a proxy, is seen by the venue).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from polyhunter.adapters.chain.abi import encode, encode_call
from polyhunter.adapters.chain.ctf_calls import (
    prepare_condition_call,
    read_position,
    redeem_positions_call,
    report_payouts_call,
)
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, quantity
from polyhunter.adapters.chain.wallet_contracts import (
    MAX_UINT256,
    approve_call,
    read_allowance,
    read_approved_for_all,
    read_balance,
    set_approval_for_all_call,
)
from polyhunter.domain.signal import Side
from polyhunter.log import get_logger
from polyhunter.sim import errors
from polyhunter.sim.chain_build import REPO_ROOT, compile_contract
from polyhunter.sim.chain_mirror import ChainMirror, MirrorLeg, MirrorMatch, OnMined
from polyhunter.sim.chain_tokens import CTF, PUSD, SPENDERS, UNLIMITED
from polyhunter.sim.events import TradeEvent
from polyhunter.sim.exchange import FEE_ACCOUNT, SimExchange

if TYPE_CHECKING:
    from polyhunter.sim.scenario_markets import MarketInfo

log = get_logger(__name__)
ERC1271_MAGIC = bytes.fromhex("1626ba7e")

EXCHANGE = SPENDERS[0]  # CTF Exchange V2: where the settling exchange is placed
ORACLE = "0x0000000000000000000000000000000051b0ac1e"  # the simulator resolving markets (impersonated)
CTF_ARTIFACT = (
    REPO_ROOT
    / "node_modules"
    / "@gnosis.pm"
    / "conditional-tokens-contracts"
    / "build"
    / "contracts"
    / "ConditionalTokens.json"
)
_GAS_FUNDS = 10**20  # POL given to an impersonated wallet for its gas
_SETTLE_GAS_BASE, _SETTLE_GAS_PER_LEG = 400_000, 350_000


class ChainVenueError(RuntimeError):
    pass


def ctf_creation_code() -> bytes:
    """The ConditionalTokens' creation code from the npm package's build artifact (solc 0.5.10)."""
    if not CTF_ARTIFACT.is_file():
        raise ChainVenueError(f"no ConditionalTokens artifact at {CTF_ARTIFACT}: run make node")
    artifact = json.loads(CTF_ARTIFACT.read_text())
    return bytes.fromhex(str(artifact["bytecode"]).removeprefix("0x"))


def match_of(trade: TradeEvent) -> MirrorMatch:
    """One simulator trade as the exchange's ``matchOrders`` (each order sized to its leg)."""
    legs = [
        MirrorLeg(
            order_hash=m.order_id,
            maker=m.owner,
            side=m.side,
            token_id=m.token_id,
            maker_amount_filled=m.usdc if m.side is Side.BUY else m.size,
            taker_amount_filled=m.size if m.side is Side.BUY else m.usdc,
        )
        for m in trade.makers
    ]
    buy = trade.side is Side.BUY
    return MirrorMatch(
        taker_order_hash=trade.taker_order_id,
        taker=trade.taker_owner,
        taker_side=trade.side,
        token_id=trade.token_id,
        taker_maker_amount_filled=trade.usdc if buy else trade.size,
        taker_taker_amount_filled=trade.size if buy else trade.usdc,
        maker_legs=legs,
        taker_fee=trade.fee,
    )


def collateral_moves(match: MirrorMatch) -> dict[str, int]:
    """What ``match`` does to each wallet's collateral (lower-case address -> signed micro-units)."""
    moves: dict[str, int] = {}

    def add(address: str, amount: int) -> None:
        key = address.lower()
        moves[key] = moves.get(key, 0) + amount

    if match.taker_side is Side.BUY:
        add(match.taker, -match.taker_maker_amount_filled - match.taker_fee)
    else:
        add(match.taker, match.taker_taker_amount_filled - match.taker_fee)
    for leg in match.maker_legs:
        if leg.side is Side.BUY:
            add(leg.maker, -leg.maker_amount_filled - leg.fee)
        else:
            add(leg.maker, leg.taker_amount_filled - leg.fee)
    fees = match.taker_fee + sum(leg.fee for leg in match.maker_legs)
    if fees:
        add(FEE_ACCOUNT, fees)
    return moves


@dataclass(slots=True)
class ChainVenue:
    mirror: ChainMirror
    engine: SimExchange
    question_ids: dict[str, str]  # condition id -> question id (markets with their CTF ids)
    pending: dict[str, int] = field(default_factory=dict)  # collateral in the ledger, not yet on chain
    unsettled: dict[str, int] = field(default_factory=dict)  # trades of markets not on chain (replays)
    inflight: dict[str, int] = field(default_factory=dict)  # matches queued or unmined, per wallet
    _approved: set[str] = field(default_factory=set)
    _impersonated: set[str] = field(default_factory=set)

    @property
    def rpc(self) -> JsonRpcClient:
        return self.mirror.rpc

    # -- set-up ------------------------------------------------------------------------------------
    async def start(self, markets: Sequence[MarketInfo]) -> None:
        operator = self.mirror.operator or (await self.rpc.accounts())[0].lower()
        self.mirror.operator = operator
        compiled = await asyncio.to_thread(compile_contract, "SimCtfExchange")
        args = encode(["address", "address", "address"], [PUSD, CTF, FEE_ACCOUNT])
        await self._place(operator, compiled.bytecode + args, EXCHANGE)
        await self._tx(operator, EXCHANGE, encode_call("init()", []))
        for info in markets:
            question = self.question_ids.get(info.condition_id)
            if question is None:
                continue
            await self._tx(operator, CTF, prepare_condition_call(ORACLE, question))
            t0, t1 = (int(t) for t in info.market.tokens)
            call = encode_call("registerMarket(bytes32,uint256,uint256)", [info.condition_id, t0, t1])
            await self._tx(operator, EXCHANGE, call)
        self.mirror.gas_base, self.mirror.gas_per_leg = _SETTLE_GAS_BASE, _SETTLE_GAS_PER_LEG
        await self.mirror.attach(EXCHANGE)
        log.info("chain_venue.started", exchange=EXCHANGE, ctf=CTF, markets=len(self.question_ids))

    async def _place(self, sender: str, creation: bytes, at: str) -> None:
        tx_hash = await self.rpc.send_transaction({"from": sender, "data": "0x" + creation.hex()})
        receipt = await self.rpc.wait_for_receipt(tx_hash)
        deployed = receipt.get("contractAddress")
        if receipt.get("status") != "0x1" or not deployed:
            raise ChainVenueError(f"deployment for {at} failed: {receipt}")
        code = await self.rpc.call("eth_getCode", [deployed, "latest"])
        await self.rpc.call("anvil_setCode", [at, code])

    async def _tx(self, sender: str, to: str, data: bytes) -> str:
        tx_hash = await self.rpc.send_transaction(
            {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(2_000_000)}
        )
        receipt = await self.rpc.wait_for_receipt(tx_hash, timeout_s=60)
        if receipt.get("status") != "0x1":
            raise ChainVenueError(f"transaction {tx_hash} from {sender} to {to} reverted")
        return tx_hash

    async def _op(
        self, sender: str, to: str, data: bytes, on_mined: OnMined | None = None, *, wait: bool = False
    ) -> str:
        """A transaction of a queued operation (``ChainMirror.send_op``)."""
        tx: dict[str, object] = {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(2_000_000)}
        return await self.mirror.send_op(tx, on_mined, wait=wait)

    async def _as(
        self, address: str, to: str, data: bytes, on_mined: OnMined | None = None, *, wait: bool = True
    ) -> str:
        """A transaction from ``address`` without its key (anvil impersonation), with gas money."""
        key = address.lower()
        if key not in self._impersonated:
            await self.rpc.call("anvil_impersonateAccount", [address])
            await self.rpc.call("anvil_setBalance", [address, quantity(_GAS_FUNDS)])
            self._impersonated.add(key)
        return await self._op(address, to, data, on_mined, wait=wait)

    def _settled(self, address: str, amount: int) -> OnMined:
        """Once mined: ``amount`` of ``address``'s collateral is on chain, no longer in flight."""

        def mined(_ok: bool) -> None:
            self._move(self.pending, address, -amount)

        return mined

    def is_on_chain(self, condition_id: str) -> bool:
        return condition_id in self.question_ids

    def _move(self, book: dict[str, int], address: str, amount: int) -> None:
        key = address.lower()
        left = book.get(key, 0) + amount
        if left:
            book[key] = left
        else:
            book.pop(key, None)

    def expected(self, address: str) -> int:
        """The collateral ``address`` holds on chain once the queue is sent (the ledger's, less what is
        in flight and what trades of markets that are not on chain moved)."""
        key = address.lower()
        return self.engine.account(address).cash - self.pending.get(key, 0) - self.unsettled.get(key, 0)

    # -- the ledger's operations, queued -------------------------------------------------------------
    def deposit(self, address: str, amount: int, *, approve: bool) -> asyncio.Future[str]:
        """Mint ``amount`` on chain (the ledger credited it already); ``approve``: the wallet approves
        every exchange (pUSD and CTF), as a wallet set up for trading has."""
        self._move(self.pending, address, amount)

        async def act() -> str:
            mint = encode_call("mint(address,uint256)", [address, amount])
            tx = await self._op(self.mirror.operator, PUSD, mint, self._settled(address, amount))
            if approve:
                await self._approve_all(address)
            return tx

        return self.mirror.run(act)

    async def _approve_all(self, address: str) -> None:
        if address.lower() in self._approved:
            return
        calls = [(PUSD, approve_call(s, MAX_UINT256)) for s in SPENDERS]
        calls += [(CTF, set_approval_for_all_call(s)) for s in SPENDERS]
        for i, (to, data) in enumerate(calls):  # one sender, in nonce order: wait for the last only
            await self._as(address, to, data, wait=i == len(calls) - 1)
        self._approved.add(address.lower())

    def give_shares(self, address: str, token_id: str, shares: int) -> asyncio.Future[str]:
        """``shares`` full sets of ``token_id``'s market for ``address`` (collateral split on the CTF)."""
        market = self.engine.market_of_token(token_id)
        if market is None or not self.is_on_chain(market.condition_id):
            return self.deposit(address, 0, approve=True)

        async def act() -> str:
            operator = self.mirror.operator
            await self._op(operator, PUSD, encode_call("mint(address,uint256)", [EXCHANGE, shares]))
            call = encode_call("splitTo(address,uint256,uint256)", [address, int(market.tokens[0]), shares])
            tx = await self._op(operator, EXCHANGE, call)
            await self._approve_all(address)
            return tx

        return self.mirror.run(act)

    def settle(self, trade: TradeEvent) -> asyncio.Future[str]:
        """The trade's settlement transaction (its hash); a market not on chain only logs it."""
        match = match_of(trade)
        moves = collateral_moves(match)
        if not self.is_on_chain(trade.market):
            for address, amount in moves.items():
                self._move(self.unsettled, address, amount)
            return self.mirror.submit(match, "legs")
        wallets = {match.taker.lower(), *(leg.maker.lower() for leg in match.maker_legs)}
        for address, amount in moves.items():
            self._move(self.pending, address, amount)
        for wallet in wallets:
            self._move(self.inflight, wallet, 1)

        def mined(ok: bool) -> None:
            for address, amount in moves.items():
                self._move(self.pending, address, -amount)
                if not ok:  # the ledger keeps a match whose settlement never made it
                    self._move(self.unsettled, address, amount)
            for wallet in wallets:
                self._move(self.inflight, wallet, -1)
            if not ok:
                log.error("chain_venue.settlement_failed", trade_id=trade.trade_id)

        return self.mirror.submit(match, "orders", on_mined=mined)

    def resolve(
        self,
        condition_id: str,
        winning_index: int,
        payouts: Sequence[tuple[str, int]],
        holders: Sequence[str],
    ) -> asyncio.Future[str] | None:
        """Report the payouts (the oracle's transaction); redeem for ``holders`` (the ledger paid
        ``payouts`` already)."""
        question = self.question_ids.get(condition_id)
        if question is None:
            return None
        for address, amount in payouts:
            self._move(self.pending, address, amount)

        async def act() -> str:
            vector = [1 if i == winning_index else 0 for i in range(2)]
            tx = await self._as(ORACLE, CTF, report_payouts_call(question, vector))
            for holder in holders:  # after the report (waited for): another sender, maybe the same block
                paid = sum(amount for address, amount in payouts if address.lower() == holder.lower())
                call = redeem_positions_call(PUSD, condition_id)
                await self._as(holder, CTF, call, self._settled(holder, paid), wait=False)
            return tx

        return self.mirror.run(act)

    def redeem_for(self, address: str, condition_id: str, paid: int) -> asyncio.Future[str] | None:
        """The simulator's redeem endpoint in chain mode: ``redeemPositions`` from the wallet."""
        if not self.is_on_chain(condition_id):
            return None
        self._move(self.pending, address, paid)

        async def act() -> str:
            call = redeem_positions_call(PUSD, condition_id)
            return await self._as(address, CTF, call, self._settled(address, paid))

        return self.mirror.run(act)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing in flight: the chain holds what the ledger does."""
        return self.mirror.queued == 0 and not self.pending and not self.inflight

    def barrier(self) -> asyncio.Future[str]:
        """Resolves once everything queued so far is on chain (with blocks: mined, and told so)."""

        async def nothing() -> str:
            if self.mirror.block_time_s is not None:
                sent_by = await self.rpc.block_number()
                while await self.rpc.block_number() <= sent_by:  # noqa: ASYNC110 - the chain's blocks
                    await asyncio.sleep(0.05)
                async with self.mirror.lock or contextlib.nullcontext():
                    pass  # the block loop has told the mined transactions' callbacks
            return ""

        return self.mirror.run(nothing)

    # -- reads ---------------------------------------------------------------------------------------
    async def reconcile(self, address: str) -> int:
        """Markets ``address`` redeemed by its own ``redeemPositions``: the ledger redeems them too (the
        chain paid already). Returns the collateral the ledger credited."""
        credited = 0
        acct = self.engine.account(address)
        if self.inflight.get(address.lower()):
            return 0
        for market in self.engine.markets():
            if market.winning_token is None or not self.is_on_chain(market.condition_id):
                continue
            if not any(acct.tokens.get(t, 0) for t in market.tokens):
                continue
            on_chain = [await read_position(self.rpc, CTF, address, t) for t in market.tokens]
            if not any(on_chain):
                credited += self.engine.redeem(address, market.condition_id)
        return credited

    async def accepts_signature(self, maker: str, digest: str, signature: str) -> bool:
        """EIP-1271: ``maker`` (a contract) says ``signature`` over ``digest`` is its own."""
        call = encode_call("isValidSignature(bytes32,bytes)", [digest, bytes.fromhex(signature[2:])])
        try:
            answer = await self.rpc.call_contract(maker, call)
        except RpcError:  # not a contract, or it reverted: not its signature
            return False
        return answer[:4] == ERC1271_MAGIC

    async def refusal(self, owner: str, side: Side, token_id: str, amount: int) -> str | None:
        """The CLOB's check against the chain: a BUY needs ``amount`` collateral and the exchange's
        allowance for it, a SELL ``amount`` shares and the exchange approved for them. Funds still in
        flight to the wallet (matches not yet mined) count as arrived."""
        in_flight = self._moving(owner)
        if side is Side.BUY:
            allowance = await read_allowance(self.rpc, PUSD, owner, EXCHANGE)
            balance = await read_balance(self.rpc, PUSD, owner)
            if allowance < amount or (balance < amount and not in_flight):
                return errors.NOT_ENOUGH_BALANCE
            if not in_flight:  # the book's allowance and balance are the chain's
                self.engine.ledger.approve(owner, None if allowance >= UNLIMITED else allowance)
                self._align_cash(owner, balance)
            return None
        if not await read_approved_for_all(self.rpc, CTF, owner, EXCHANGE):
            return errors.NOT_ENOUGH_BALANCE
        self.engine.ledger.set_ctf_approval(owner, True)
        if in_flight:
            return None
        held = await read_position(self.rpc, CTF, owner, token_id)
        if held < amount:
            return errors.NOT_ENOUGH_BALANCE
        self._align_shares(owner, token_id, held)
        return None

    def _moving(self, owner: str) -> bool:
        key = owner.lower()
        return bool(self.inflight.get(key)) or bool(self.pending.get(key))

    def _align_cash(self, owner: str, on_chain: int) -> None:
        """The maker's pUSD in the book is the chain's (nothing of it in flight): pUSD moved by transfers
        the venue did not make (a PROXY fleet worker reimbursed by a proxy, or paying a SELL's proceeds
        to it) is credited or debited here, before the order is booked."""
        if self._moving(owner):  # a match of its settled while the chain was read
            return
        delta = on_chain - self.expected(owner)
        if delta:
            ledger = self.engine.ledger
            ledger.account(owner).cash += delta
            ledger.deposited += delta
            log.debug("chain_venue.cash_aligned", address=owner, delta=delta)

    def _align_shares(self, owner: str, token_id: str, on_chain: int) -> None:
        """The maker's shares of ``token_id`` in the book are the chain's (moved by plain ERC-1155
        transfers: a PROXY worker's BUY delivered to the proxy, a SELL's shares pulled from it)."""
        if self._moving(owner):
            return
        acct = self.engine.ledger.account(owner)
        delta = on_chain - acct.tokens.get(token_id, 0)
        if delta:
            acct.tokens[token_id] = on_chain
            supply = self.engine.ledger.supply
            supply[token_id] = supply.get(token_id, 0) + delta
            log.debug("chain_venue.shares_aligned", address=owner, token=token_id, delta=delta)
