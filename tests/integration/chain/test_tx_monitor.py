"""Fleet worker transactions on anvil: raw signed sends with managed nonces, a stuck transaction replaced
(same nonce, higher fee), a re-orged one sent again, confirmations counted."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient, parse_quantity
from polyhunter.execution.tx_monitor import TxMonitor, TxState, WorkerSender

pytestmark = pytest.mark.integration

SINK = "0x" + "5a" * 20


async def _worker(rpc: JsonRpcClient) -> WorkerSender:
    signer = TxSigner(secrets.token_bytes(32), await rpc.chain_id())
    await rpc.call("anvil_setBalance", [signer.address, hex(10**20)])
    return WorkerSender(rpc, signer)


async def _until(monitor: TxMonitor, condition: object, *, limit: int = 200) -> None:
    for _ in range(limit):
        await monitor.poll_once()
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def test_concurrent_sends_take_consecutive_nonces_and_confirm(rpc: JsonRpcClient) -> None:
    worker = await _worker(rpc)
    monitor = TxMonitor(rpc, confirmations=1)
    tracked = await asyncio.gather(*(monitor.send(worker, SINK, b"", 21_000) for _ in range(20)))
    assert sorted(t.nonce for t in tracked) == list(range(20))
    await _until(monitor, lambda: monitor.in_flight == 0)
    assert all(t.state == TxState.CONFIRMED for t in tracked)
    sender = (await rpc.call("eth_getTransactionByHash", [tracked[0].hashes[0]]))["from"]
    assert sender.lower() == worker.address
    assert monitor.metrics.confirmed == 20


async def test_a_stuck_transaction_is_replaced_with_a_higher_fee(rpc: JsonRpcClient) -> None:
    worker = await _worker(rpc)
    monitor = TxMonitor(rpc, confirmations=2, stuck_after_s=0.0)
    await rpc.call("evm_setAutomine", [False])
    tracked = await monitor.send(worker, SINK, b"", 21_000)
    first_price = tracked.signed.tx.gas_price
    await monitor.poll_once()  # not mined, past its time: replaced
    assert monitor.metrics.replaced == 1
    assert len(tracked.hashes) == 2
    assert tracked.signed.tx.nonce == 0
    assert tracked.signed.tx.gas_price > first_price * 5 // 4
    await rpc.call("evm_mine")
    await monitor.poll_once()
    assert tracked.state == TxState.MINED
    await rpc.call("evm_mine")
    await monitor.poll_once()
    receipt = await monitor.confirmed(tracked, timeout_s=5)
    assert receipt["transactionHash"] == tracked.hashes[1]  # the replacement was mined
    assert await rpc.get_transaction_receipt(tracked.hashes[0]) is None  # the original never
    assert await rpc.transaction_count(worker.address, "latest") == 1
    await rpc.call("evm_setAutomine", [True])


async def test_a_reorged_transaction_is_sent_again(rpc: JsonRpcClient) -> None:
    worker = await _worker(rpc)
    monitor = TxMonitor(rpc, confirmations=3, stuck_after_s=60.0)
    snapshot = await rpc.call("evm_snapshot")
    tracked = await monitor.send(worker, SINK, b"", 21_000)
    await _until(monitor, lambda: tracked.state == TxState.MINED)
    assert await rpc.call("evm_revert", [snapshot]) is True  # the block holding it is gone
    assert await rpc.get_transaction_receipt(tracked.hashes[0]) is None
    await monitor.poll_once()
    assert monitor.metrics.resent_after_reorg == 1
    await _until(monitor, lambda: tracked.state == TxState.MINED)  # mined again (automine)
    for _ in range(2):
        await rpc.call("evm_mine")
    await monitor.poll_once()
    receipt = await monitor.confirmed(tracked, timeout_s=5)
    assert receipt["status"] == "0x1"
    assert parse_quantity(await rpc.call("eth_getBalance", [SINK, "latest"])) == 0  # value 0, sent once
    assert await rpc.transaction_count(worker.address, "latest") == 1
