"""Fleet worker transactions: a nonce manager whose signer mutex is held only around submission, and a monitor
that follows each transaction pending -> mined -> confirmed (N blocks), replaces one not mined in time (same
nonce, higher fee) and sends again one a re-org dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from polyhunter.adapters.chain.legacy_tx_signer import LegacyTx, SignedTx, TxSigner
from polyhunter.adapters.chain.rpc import JsonDict, JsonRpcClient, RpcError, parse_quantity
from polyhunter.log import get_logger
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

_ALREADY = ("already known", "nonce too low", "replacement transaction underpriced")


class TxState(StrEnum):
    PENDING = "PENDING"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    REVERTED = "REVERTED"


@dataclass(slots=True)
class TxMetrics:
    sent: int = 0
    replaced: int = 0
    resent_after_reorg: int = 0
    mined: int = 0
    confirmed: int = 0
    reverted: int = 0


class WorkerSender:
    """One fleet worker: its key's signer and its next nonce. The lock is the signer mutex."""

    def __init__(self, rpc: JsonRpcClient, signer: TxSigner) -> None:
        self.rpc = rpc
        self.signer = signer
        self._lock = asyncio.Lock()
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        return self.signer.address

    async def forget_nonce(self) -> None:
        """Read the nonce from the node at the next send (another process may have sent since)."""
        async with self._lock:
            self._nonce = None

    async def gas_price(self) -> int:
        return parse_quantity(await self.rpc.call("eth_gasPrice"))

    async def send(self, to: str, data: bytes, gas: int) -> SignedTx:
        gas_price = await self.gas_price()  # read outside the mutex
        async with self._lock:
            for attempt in range(2):
                if self._nonce is None:
                    self._nonce = await self.rpc.transaction_count(self.address, "pending")
                signed = self.signer.sign(LegacyTx(self._nonce, gas_price, gas, to, data))
                try:
                    await self.rpc.call("eth_sendRawTransaction", ["0x" + signed.raw.hex()])
                except RpcError as exc:
                    self._nonce = None  # read again from the node
                    if attempt == 0 and "nonce too low" in exc.message.lower():
                        continue  # another process sent from this worker: once more at the node's nonce
                    raise
                self._nonce += 1
                return signed
        raise AssertionError("unreachable")

    async def resend(self, signed: SignedTx) -> None:
        """The same signed bytes again (a re-org dropped them); "already known" and the like are fine."""
        try:
            await self.rpc.call("eth_sendRawTransaction", ["0x" + signed.raw.hex()])
        except RpcError as exc:
            if not any(text in exc.message.lower() for text in _ALREADY):
                raise

    async def replace(self, signed: SignedTx, gas_price: int) -> SignedTx:
        """The same nonce and call at ``gas_price``: whichever of the two is mined first wins."""
        async with self._lock:
            bumped = self.signer.sign(signed.tx.with_gas_price(gas_price))
            await self.rpc.call("eth_sendRawTransaction", ["0x" + bumped.raw.hex()])
        return bumped


@dataclass(slots=True)
class Tracked:
    sender: WorkerSender
    signed: SignedTx  # the latest version sent (replacements raise its price)
    hashes: list[str]
    sent_at: float
    state: TxState = TxState.PENDING
    block: int | None = None
    receipt: JsonDict | None = None
    done: asyncio.Future[JsonDict] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def nonce(self) -> int:
        return self.signed.tx.nonce


class TxMonitor:
    """``tracked = await monitor.send(worker, to, data, gas)`` then ``await monitor.confirmed(tracked)``;
    ``run()`` (or ``poll_once()``) moves every tracked transaction on."""

    def __init__(
        self,
        rpc: JsonRpcClient,
        *,
        confirmations: int = 2,
        stuck_after_s: float = 30.0,
        bump_pct: int = 25,
        poll_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if confirmations < 1 or bump_pct < 10:
            raise ValueError("confirmations >= 1 and bump_pct >= 10 (nodes refuse smaller replacements)")
        self.rpc = rpc
        self.confirmations = confirmations
        self.stuck_after_s = stuck_after_s
        self.bump_pct = bump_pct
        self.poll_s = poll_s
        self.metrics = TxMetrics()
        self._clock = clock
        self._tracked: list[Tracked] = []

    @property
    def in_flight(self) -> int:
        return len(self._tracked)

    async def send(self, sender: WorkerSender, to: str, data: bytes, gas: int) -> Tracked:
        signed = await sender.send(to, data, gas)
        self.metrics.sent += 1
        tracked = Tracked(sender, signed, [signed.hash], self._clock())
        self._tracked.append(tracked)
        return tracked

    async def confirmed(self, tracked: Tracked, timeout_s: float = 120.0) -> JsonDict:
        """The receipt once confirmed; raises :class:`TxRevertedError` if it was mined and reverted."""
        async with asyncio.timeout(timeout_s):
            return await asyncio.shield(tracked.done)

    async def run(self) -> None:
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            try:
                await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - a node hiccup: the next poll tries again
                log.warning("tx_monitor.poll_failed", error=str(exc))
            await asyncio.sleep(self.poll_s)

    async def poll_once(self) -> None:
        if not self._tracked:
            return
        head = await self.rpc.block_number()
        for tracked in list(self._tracked):
            await self._advance(tracked, head)

    async def _receipt(self, tracked: Tracked) -> JsonDict | None:
        for tx_hash in reversed(tracked.hashes):
            receipt = await self.rpc.get_transaction_receipt(tx_hash)
            if receipt is not None and receipt.get("blockNumber") is not None:
                return receipt
        return None

    async def _advance(self, tracked: Tracked, head: int) -> None:
        receipt = await self._receipt(tracked)
        now = self._clock()
        if receipt is None:
            if tracked.state == TxState.MINED:  # it was mined, and the block is gone: a re-org
                tracked.state, tracked.block, tracked.sent_at = TxState.PENDING, None, now
                self.metrics.resent_after_reorg += 1
                log.warning("tx_monitor.reorged", nonce=tracked.nonce, worker=tracked.sender.address)
                await tracked.sender.resend(tracked.signed)
            elif now - tracked.sent_at >= self.stuck_after_s:
                await self._replace(tracked, now)
            return
        block = parse_quantity(receipt["blockNumber"])
        if tracked.state == TxState.PENDING or tracked.block != block:
            tracked.state, tracked.block = TxState.MINED, block
            self.metrics.mined += 1
        if head - block + 1 < self.confirmations:
            return
        self._tracked.remove(tracked)
        tracked.receipt = receipt
        if receipt.get("status") != "0x1":
            tracked.state = TxState.REVERTED
            self.metrics.reverted += 1
            tracked.done.set_exception(TxRevertedError(str(receipt.get("transactionHash"))))
            return
        tracked.state = TxState.CONFIRMED
        self.metrics.confirmed += 1
        tracked.done.set_result(receipt)

    async def _replace(self, tracked: Tracked, now: float) -> None:
        old = tracked.signed.tx.gas_price
        price = max(old * (100 + self.bump_pct) // 100 + 1, await tracked.sender.gas_price())
        try:
            bumped = await tracked.sender.replace(tracked.signed, price)
        except RpcError as exc:
            log.warning("tx_monitor.replace_failed", nonce=tracked.nonce, error=exc.message)
            tracked.sent_at = now
            return
        tracked.signed, tracked.sent_at = bumped, now
        tracked.hashes.append(bumped.hash)
        self.metrics.replaced += 1
        log.info("tx_monitor.replaced", nonce=tracked.nonce, gas_price=price, worker=tracked.sender.address)


class TxRevertedError(RuntimeError):
    """The transaction was mined and reverted."""
