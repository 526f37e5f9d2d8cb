"""On-chain path on a local anvil: mirror throughput and CHAIN-source detection lag.

    uv run --frozen python benchmarks/bench_chain.py [--matches N] [--poll-ms MS ...] [--json]

For each poll interval: a fresh anvil, FillMirror deployed, N matches (1-3 maker legs, the leader as maker or
taker) queued at once through ``ChainMirror.submit``. Prints mirror throughput (matches mined per second, one
transaction each) and the detection lag of every leader fill: ``signal yielded - transaction mined`` in ms
(mined = when its block number was first visible to a watcher polling eth_blockNumber every 2 ms, not the
1 s block timestamp).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.chain_mirror import ChainMirror, MirrorLeg, MirrorMatch

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def _match(rng: random.Random, leader: str) -> MirrorMatch:
    def addr() -> str:
        return "0x" + rng.randbytes(20).hex()

    def h() -> str:
        return "0x" + rng.randbytes(32).hex()

    leader_is_taker = rng.random() < 0.5
    taker = leader if leader_is_taker else addr()
    legs = [
        MirrorLeg(h(), addr() if leader_is_taker or i else leader, Side.SELL, TOKEN, 1_000_000, 450_000)
        for i in range(rng.randint(1, 3))
    ]
    return MirrorMatch(h(), taker, Side.BUY, TOKEN, 450_000 * len(legs), 1_000_000 * len(legs), legs)


async def _watch_blocks(rpc: JsonRpcClient, first_seen: dict[int, float], stop: asyncio.Event) -> None:
    """When each block number was first visible over RPC (polled every 2 ms)."""
    while not stop.is_set():
        number = await rpc.block_number()
        now = time.perf_counter()
        for missing in range(max(first_seen, default=number - 1) + 1, number + 1):
            first_seen.setdefault(missing, now)
        await asyncio.sleep(0.002)


async def run_once(matches: int, poll_ms: int) -> dict[str, Any]:
    rng = random.Random(poll_ms)
    leader = "0x" + rng.randbytes(20).hex()
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc, JsonRpcClient(anvil.url) as watcher_rpc:
            mirror = ChainMirror(anvil.url)
            await mirror.start()
            source = ChainLogSource(
                rpc,
                exchanges=[mirror.address],
                leaders=[leader],
                cursor_store=MemoryCursorStore(),
                poll_interval_ms=poll_ms,
                start_block=await rpc.block_number() + 1,
            )
            first_seen: dict[int, float] = {}
            stop = asyncio.Event()
            watcher = asyncio.create_task(_watch_blocks(watcher_rpc, first_seen, stop))
            batch = [_match(rng, leader) for _ in range(matches)]
            expected = sum(1 for m in batch if m.taker == leader) + sum(
                1 for m in batch for leg in m.maker_legs if leg.maker == leader
            )

            seen: list[tuple[str, float]] = []

            async def consume() -> None:
                async for signal in source.signals():
                    seen.append((signal.tx_hash, time.perf_counter()))
                    if len(seen) >= expected:
                        return

            consumer = asyncio.create_task(consume())
            await asyncio.sleep(0.2)  # the source has made its first poll
            started = time.perf_counter()
            tx_hashes = await asyncio.gather(*(mirror.submit(m) for m in batch))
            await mirror.drain()
            mined_s = time.perf_counter() - started
            await asyncio.wait_for(consumer, 120)
            stop.set()
            await watcher
            mined_at = {}
            for tx in tx_hashes:
                receipt = await rpc.get_transaction_receipt(tx)
                assert receipt is not None
                mined_at[tx] = first_seen[int(receipt["blockNumber"], 16)]
            await source.close()
            await mirror.close()
    lags = sorted((at - mined_at[tx]) * 1000 for tx, at in seen)
    return {
        "poll_ms": poll_ms,
        "matches": matches,
        "leader_fills": expected,
        "mirror_matches_per_s": round(matches / mined_s, 1),
        "lag_ms_p50": round(statistics.median(lags), 1),
        "lag_ms_p95": round(lags[int(0.95 * (len(lags) - 1))], 1),
        "lag_ms_max": round(lags[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--matches", type=int, default=200)
    parser.add_argument("--poll-ms", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [asyncio.run(run_once(args.matches, poll_ms)) for poll_ms in args.poll_ms]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'poll_ms':>8} {'matches':>8} {'fills':>6} {'mirror tx/s':>12} {'lag p50':>9} {'lag p95':>9} {'lag max':>9}"
    )
    for r in results:
        print(
            f"{r['poll_ms']:>8} {r['matches']:>8} {r['leader_fills']:>6} {r['mirror_matches_per_s']:>12} "
            f"{r['lag_ms_p50']:>9} {r['lag_ms_p95']:>9} {r['lag_ms_max']:>9}"
        )


if __name__ == "__main__":
    main()
