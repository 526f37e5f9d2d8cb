"""Mirror simulator matches onto a local chain as real exchange transactions and logs.

``ChainMirror`` deploys ``contracts/FillMirror.sol`` on an RPC node with unlocked accounts (anvil, account 0)
and turns each simulator match into ONE transaction emitting, like the real exchange's ``matchOrders``: one
``OrderFilled`` per maker leg (taker = the taker order's maker), the taker leg's ``OrderFilled`` (taker = the
mirror contract, standing in for the exchange address), then ``OrdersMatched``. The transaction hash is the
one the simulator puts in its Data API / RTDS rows, so every source sees the same fill under the same key.

``shape="orders"`` (the default) sends the exchange's own call, ``matchOrders(takerOrder, makerOrders,
takerFillAmount, makerFillAmounts[, takerFeeAmount, makerFeeAmounts])`` with V2 orders (V1 with
``layout=1``; ``adapters/chain/match_orders.py``), so a mempool reader decodes what it would on Polygon; each order's amounts are the leg's, so the amounts the contract computes are the
simulator's exactly. ``shape="legs"`` sends the older ``matchV2`` / ``matchV1`` with the event fields.

Blocks: with ``block_time_s`` set the mirror turns the node's automine off and mines a block every
``block_time_s`` itself (``evm_mine``), so a match waits in the mempool like on the live chain; a match
marked with :meth:`drop` is replaced before the next block by a transaction of the same nonce paying more (a
0-value transfer: the live "replaced" case, and the nonces stay contiguous). :meth:`settlement` resolves once
the transaction is mined (block number and time) or dropped. Without ``block_time_s`` every transaction is
mined as it arrives.

Sending never blocks matching: :meth:`ChainMirror.submit` encodes the call and queues it (raising at once on a
malformed match); one sender task sends the queue in order and resolves each future with the tx hash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from polyhunter.adapters.chain.rpc import JsonRpcClient, parse_quantity
from polyhunter.log import get_logger
from polyhunter.sim.chain_build import compile_contract
from polyhunter.sim.chain_matches import MirrorLeg, MirrorMatch, encode_match, encode_match_orders_of

__all__ = [
    "ChainMirror",
    "MirrorError",
    "MirrorLeg",
    "MirrorMatch",
    "Settlement",
    "encode_match",
    "encode_match_orders_of",
]

log = get_logger(__name__)

_GAS_BASE = 80_000
_GAS_PER_LEG = 30_000


class MirrorError(RuntimeError):
    pass


Action = Callable[[], Awaitable[str]]
"""A chain operation run in the sender's order (deposits, splits, resolutions of the settling venue)."""
OnMined = Callable[[bool], None]
"""Told once a match's transaction is mined (True) or dropped (False)."""


@dataclass(slots=True)
class _Job:
    calldata: bytes
    legs: int
    future: asyncio.Future[str]
    action: Action | None = None
    on_mined: OnMined | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a mirrored transaction ended: mined in a block (its number and unix time), or dropped."""

    mined: bool
    block_number: int = -1
    block_time_s: float = 0.0


class ChainMirror:
    """``await mirror.start()`` once, then ``await mirror.emit_match(m)`` (or ``mirror.submit(m)``) per match."""

    def __init__(
        self,
        rpc_url: str,
        *,
        layout: Literal[1, 2] = 2,
        rpc: JsonRpcClient | None = None,
        queue_size: int = 100_000,
        shape: Literal["orders", "legs"] = "orders",
        block_time_s: float | None = None,
    ) -> None:
        self._rpc = rpc or JsonRpcClient(rpc_url, timeout_ms=30_000)
        self._owns_rpc = rpc is None
        self.layout: Literal[1, 2] = layout
        self.shape: Literal["orders", "legs"] = shape
        self.block_time_s = block_time_s
        self._blocks: asyncio.Task[None] | None = None
        self._settlements: dict[str, asyncio.Future[Settlement]] = {}
        self._to_drop: set[str] = set()
        self.dropped_count = 0
        self.blocks_mined = 0
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=queue_size)
        self._sender: asyncio.Task[None] | None = None
        self._sent: list[str] = []
        self.address = ""
        self.operator = ""
        self.sent_count = 0
        self.failed_count = 0
        self.gas_base = _GAS_BASE
        self.gas_per_leg = _GAS_PER_LEG
        self.lock: asyncio.Lock | None = None  # held while a job changes chain balances (automine)
        self._on_mined: dict[str, OnMined] = {}

    @property
    def queued(self) -> int:
        """Jobs waiting for the sender."""
        return self._queue.qsize()

    @property
    def rpc(self) -> JsonRpcClient:
        return self._rpc

    async def start(self) -> str:
        """Compile and deploy FillMirror from account 0; start the sender. Returns the contract address."""
        if self._sender is not None:
            return self.address
        compiled = await asyncio.to_thread(compile_contract, "FillMirror")
        accounts = await self._rpc.accounts()
        if not accounts:
            raise MirrorError(f"{self._rpc.url} has no unlocked account to deploy from (is it anvil?)")
        self.operator = accounts[0].lower()
        tx_hash = await self._rpc.send_transaction(
            {"from": self.operator, "data": "0x" + compiled.bytecode.hex()}
        )
        receipt = await self._rpc.wait_for_receipt(tx_hash)
        if receipt.get("status") != "0x1" or not receipt.get("contractAddress"):
            raise MirrorError(f"FillMirror deployment failed: {receipt}")
        await self.attach(str(receipt["contractAddress"]))
        await self.start_blocks()
        log.info(
            "chain_mirror.deployed",
            address=self.address,
            operator=self.operator,
            shape=self.shape,
            block_time_s=self.block_time_s,
        )
        return self.address

    async def attach(self, address: str) -> None:
        """Send matches to the exchange contract at ``address`` (already deployed); start the sender."""
        if not self.operator:
            self.operator = (await self._rpc.accounts())[0].lower()
        self.address = address.lower()
        self._sender = asyncio.create_task(self._send_loop(), name="chain-mirror-sender")

    async def start_blocks(self) -> None:
        """With ``block_time_s``: automine off, a block every ``block_time_s`` from now on."""
        if self.block_time_s is not None and self._blocks is None:
            await self._rpc.call("evm_setAutomine", [False])
            self._blocks = asyncio.create_task(
                self._block_loop(self.block_time_s), name="chain-mirror-blocks"
            )

    def run(self, action: Action) -> asyncio.Future[str]:
        """Queue a chain operation behind the matches queued so far; the future has its result."""
        if self._sender is None:
            raise MirrorError("ChainMirror.start() first")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(b"", 0, future, action=action))
        return future

    def submit(
        self,
        match: MirrorMatch,
        shape: Literal["orders", "legs"] | None = None,
        on_mined: OnMined | None = None,
    ) -> asyncio.Future[str]:
        """Queue one match without waiting; the future resolves with its transaction hash. ``shape``
        overrides the mirror's for this match (a replayed transaction's recorded amounts need ``legs``);
        ``on_mined`` is told when the transaction is mined or dropped."""
        if self._sender is None:
            raise MirrorError("ChainMirror.start() first")
        if (shape or self.shape) == "orders":
            calldata = encode_match_orders_of(match, self.layout)
        else:
            calldata = encode_match(match, self.layout)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(calldata, len(match.maker_legs) + 1, future, on_mined=on_mined))
        return future

    async def emit_match(self, match: MirrorMatch, shape: Literal["orders", "legs"] | None = None) -> str:
        """Queue one match and wait for its transaction hash (the sender keeps order across callers)."""
        return await self.submit(match, shape)

    async def emit_recorded(self, match: MirrorMatch) -> str:
        """A replayed transaction: its recorded amounts as the logs' fields (``legs``). Its taker leg is not
        what ``matchOrders`` would compute from the legs (fees, rounding), so it is not sent as one."""
        return await self.submit(match, "legs")

    async def _send_loop(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                if job is None:
                    return
                if self.lock is not None and (self.block_time_s is None or job.action is None):
                    # automine: the balances change as the job is sent; blocks: a match's transaction
                    # is sent and registered before the block loop may mine it
                    async with self.lock:
                        await self._job(job)
                else:
                    await self._job(job)  # an operation under blocks locks around its sends (send_op)
            finally:
                self._queue.task_done()

    async def _job(self, job: _Job) -> None:
        if job.action is None:
            await self._send(job)
            return
        try:
            result = await job.action()
        except Exception as exc:  # noqa: BLE001 - the sender outlives one failed operation
            self.failed_count += 1
            log.error("chain_mirror.action_failed", error=f"{type(exc).__name__}: {exc}")
            if not job.future.done():
                job.future.set_exception(MirrorError(f"chain operation failed: {exc}"))
            return
        if not job.future.done():
            job.future.set_result(result)

    async def send_op(
        self, tx: dict[str, object], on_mined: OnMined | None = None, *, wait: bool = False
    ) -> str:
        """One transaction of a queued operation (``run``): automine sends it and waits for it (the sender
        holds the lock); with blocks it is sent (and ``on_mined`` registered) under the lock and waited
        for only when ``wait`` (a later transaction of another sender depends on it)."""
        if self.block_time_s is None:
            tx_hash = (await self._rpc.send_transaction(tx)).lower()
            receipt = await self._rpc.wait_for_receipt(tx_hash, timeout_s=60)
            mined = receipt.get("status") == "0x1"
            if on_mined is not None:
                on_mined(mined)
            if not mined:
                raise MirrorError(f"transaction {tx_hash} to {tx.get('to')} reverted")
            return tx_hash
        async with self.lock or contextlib.nullcontext():
            tx_hash = (await self._rpc.send_transaction(tx)).lower()
            if on_mined is not None:
                self._on_mined[tx_hash] = on_mined
        if wait:
            receipt = await self._rpc.wait_for_receipt(tx_hash, timeout_s=60)
            if receipt.get("status") != "0x1":
                raise MirrorError(f"transaction {tx_hash} to {tx.get('to')} reverted")
        return tx_hash

    async def _send(self, job: _Job) -> None:
        tx = {
            "from": self.operator,
            "to": self.address,
            "data": "0x" + job.calldata.hex(),
            "gas": hex(self.gas_base + self.gas_per_leg * job.legs),
        }
        try:
            tx_hash = (await self._rpc.send_transaction(tx)).lower()
        except Exception as exc:  # noqa: BLE001 - the sender outlives one bad send; the caller gets the error
            self.failed_count += 1
            log.error("chain_mirror.send_failed", error=f"{type(exc).__name__}: {exc}")
            if not job.future.done():
                job.future.set_exception(MirrorError(f"sending match failed: {exc}"))
            if job.on_mined is not None:
                job.on_mined(False)
            return
        self.sent_count += 1
        self._sent.append(tx_hash)
        if self.block_time_s is not None:
            self._settlement_future(tx_hash)
            if job.on_mined is not None:
                self._on_mined[tx_hash] = job.on_mined
        elif job.on_mined is not None:
            receipt = await self._rpc.wait_for_receipt(tx_hash)
            job.on_mined(receipt.get("status") == "0x1")
        if not job.future.done():
            job.future.set_result(tx_hash)

    # --- blocks -----------------------------------------------------------------------------------------

    def _settlement_future(self, tx_hash: str) -> asyncio.Future[Settlement]:
        future = self._settlements.get(tx_hash)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._settlements[tx_hash] = future
        return future

    async def settlement(self, tx_hash: str) -> Settlement:
        """Wait until ``tx_hash`` is mined or dropped (without blocks of its own: its receipt)."""
        tx_hash = tx_hash.lower()
        if self.block_time_s is None:
            receipt = await self._rpc.wait_for_receipt(tx_hash)
            header = await self._rpc.get_block_by_number(parse_quantity(receipt["blockNumber"]))
            stamp = parse_quantity(header["timestamp"]) if header else 0
            return Settlement(True, parse_quantity(receipt["blockNumber"]), float(stamp))
        return await asyncio.shield(self._settlement_future(tx_hash))

    def drop(self, tx_hash: str) -> None:
        """Replace ``tx_hash`` before the next block (a fault): it is never mined."""
        if self.block_time_s is None:
            raise MirrorError("dropping a transaction needs block_time_s (automine mines it at once)")
        self._to_drop.add(tx_hash.lower())

    async def _block_loop(self, block_time_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + block_time_s
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += block_time_s
            try:
                await self._mine_block()
            except Exception as exc:  # noqa: BLE001 - one failed block must not stop the chain
                log.error("chain_mirror.block_failed", error=f"{type(exc).__name__}: {exc}")

    async def _mine_block(self) -> None:
        if self.lock is None:
            await self._mine_block_locked()
            return
        async with self.lock:  # the block changes balances: no reader between it and the bookkeeping
            await self._mine_block_locked()

    def _told(self, tx_hash: str, mined: bool) -> None:
        on_mined = self._on_mined.pop(tx_hash, None)
        if on_mined is not None:
            on_mined(mined)

    async def _mine_block_locked(self) -> None:
        drops, self._to_drop = self._to_drop, set()
        replaced: list[str] = []
        for tx_hash in drops:
            try:
                if await self._replace(tx_hash):
                    replaced.append(tx_hash)
            except Exception as exc:  # noqa: BLE001 - not replaced: it is mined like the others
                log.error("chain_mirror.replace_failed", tx=tx_hash, error=f"{type(exc).__name__}: {exc}")
        await self._rpc.call("evm_mine", [])
        self.blocks_mined += 1
        block = await self._rpc.get_block_by_number("latest")
        if block is None:
            return
        number, stamp = parse_quantity(block["number"]), float(parse_quantity(block["timestamp"]))
        for tx_hash in block.get("transactions", []):
            self._told(str(tx_hash).lower(), True)
            future = self._settlements.pop(str(tx_hash).lower(), None)
            if future is not None and not future.done():
                future.set_result(Settlement(True, number, stamp))
        for tx_hash in replaced:
            self._told(tx_hash, False)
            future = self._settlements.pop(tx_hash, None)
            if future is not None and not future.done():
                self.dropped_count += 1
                future.set_result(Settlement(False))

    async def _replace(self, tx_hash: str) -> bool:
        """Send a 0-value transfer with ``tx_hash``'s nonce and twice its fees: it takes its place."""
        tx = await self._rpc.call("eth_getTransactionByHash", [tx_hash])
        if not isinstance(tx, dict) or tx.get("blockNumber") is not None:
            return False  # gone or mined already
        fee = parse_quantity(tx.get("maxFeePerGas") or tx.get("gasPrice") or "0x3b9aca00")
        tip = parse_quantity(tx.get("maxPriorityFeePerGas") or "0x0")
        await self._rpc.send_transaction(
            {
                "from": self.operator,
                "to": self.operator,
                "value": "0x0",
                "nonce": tx["nonce"],
                "gas": hex(21_000),
                "maxFeePerGas": hex(fee * 2 + tip * 2 + 1_000_000_000),  # never below the tip
                "maxPriorityFeePerGas": hex(tip * 2 + 1_000_000_000),
            }
        )
        log.info("chain_mirror.replaced", tx=tx_hash, nonce=tx["nonce"])
        return True

    async def drain(self, *, timeout_s: float = 60.0) -> list[str]:
        """Wait until every queued match is sent and mined; raise if one reverted. Returns the hashes."""
        async with asyncio.timeout(timeout_s):
            await self._queue.join()
            sent, self._sent = self._sent, []
            for tx_hash in sent:
                receipt = await self._rpc.wait_for_receipt(tx_hash, timeout_s=timeout_s)
                if receipt.get("status") != "0x1":
                    raise MirrorError(f"mirror transaction {tx_hash} reverted: {receipt}")
            return sent

    async def close(self) -> None:
        """Send what is queued, stop the sender and the blocks, close the RPC client it owns."""
        blocks, self._blocks = self._blocks, None
        if blocks is not None:
            blocks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await blocks
        sender, self._sender = self._sender, None
        if sender is not None:
            await self._queue.put(None)
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if self._owns_rpc:
            await self._rpc.close()
