"""Order-signing throughput on one core: our signer vs py_clob_client_v2 vs the primitive floor.

    uv run --frozen python benchmarks/bench_signing.py [--quick] [--json]

* ours:     ``OrderSigner.sign`` (struct hash + digest + recoverable signature + hex), V2 EOA orders.
* official: py_clob_client_v2 ``ExchangeOrderBuilderV2.build_signed_order`` on the same orders.
* floor:    one keccak of a 384-byte struct encoding + one keccak of the 66-byte digest preimage + one
            coincurve recoverable signature, with the fastest keccak available (pycryptodome's C core
            called directly); ``floor_keccak_new`` is the same with ``Crypto.Hash.keccak.new``.
Also reported: order hash only, and signature recovery (what the simulator does per order).
Each figure is the best of several rounds (orders/s); signatures are cross-checked before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from coincurve import PrivateKey
from Crypto.Hash import keccak as pcd_keccak

from polyhunter.adapters.polymarket.eip712 import keccak256
from polyhunter.adapters.polymarket.order_signer import (
    Order,
    OrderSigner,
    exchange_domain,
    order_hash,
    recover_order_signer,
)
from polyhunter.domain.signal import Side
from polyhunter.log import configure_logging

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TOKEN = 23305969272951306317157739183583008201155714184462027894470739210983097393455


def _orders(signer: OrderSigner, n: int) -> list[Order]:
    return [
        signer.build(
            maker=None,
            token_id=TOKEN + i,
            maker_amount=2_650_000 + i,
            taker_amount=5_000_000,
            side=Side.BUY if i % 2 == 0 else Side.SELL,
            salt=479249096354 + i * 7919,
            timestamp_ms=1_790_000_000_000 + i,
        )
        for i in range(n)
    ]


def _rate(fn: Callable[[], object], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return count / best


def _official(orders: Sequence[Order]) -> tuple[Callable[[], object], list[str]]:
    from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, OrderDataV2, SignatureTypeV2
    from py_clob_client_v2.order_utils import Side as SdkSide
    from py_clob_client_v2.signer import Signer

    domain = exchange_domain(137)
    salts: Iterator[int] = iter(())

    def next_salt() -> str:
        return str(next(salts))

    builder = ExchangeOrderBuilderV2(
        domain.verifying_contract, 137, Signer(KEY, 137), generate_salt=next_salt
    )
    data = [
        OrderDataV2(
            maker=o.maker,
            tokenId=str(o.token_id),
            makerAmount=str(o.maker_amount),
            takerAmount=str(o.taker_amount),
            side=SdkSide.BUY if o.side == Side.BUY else SdkSide.SELL,
            signer=o.signer,
            signatureType=SignatureTypeV2.EOA,
            timestamp=str(o.timestamp_ms),
        )
        for o in orders
    ]
    out: list[str] = []

    def sign_all() -> None:
        nonlocal salts
        salts = iter(o.salt for o in orders)
        out.clear()
        for d in data:
            out.append(builder.build_signed_order(d).signature)

    return sign_all, out


def run(quick: bool = False) -> dict[str, Any]:
    """Measure and return orders/s figures (no printing)."""
    n_ours, n_official, rounds = (2_000, 200, 3) if quick else (20_000, 2_000, 5)
    signer = OrderSigner(KEY)
    domain = exchange_domain(137)
    orders = _orders(signer, n_ours)

    ours_sigs = [signer.sign(o, domain).signature for o in orders[:n_official]]
    official_fn, official_sigs = _official(orders[:n_official])
    official_fn()
    if official_sigs != ours_sigs:
        raise AssertionError("our signatures differ from py_clob_client_v2's")

    sign = signer.sign

    def ours() -> None:
        for o in orders:
            sign(o, domain)

    def hashes() -> None:
        for o in orders:
            order_hash(o, domain)

    signed = [signer.sign(o, domain) for o in orders]

    def recover() -> None:
        for s in signed:
            recover_order_signer(s.order, s.signature, domain)

    key = PrivateKey(bytes.fromhex(KEY[2:]))
    structs = [os.urandom(384) for _ in range(n_ours)]
    prefix = b"\x19\x01" + domain.separator

    def floor_fast() -> None:
        for s in structs:
            key.sign_recoverable(keccak256(prefix + keccak256(s)), hasher=None)

    def floor_new() -> None:
        new = pcd_keccak.new
        for s in structs:
            inner = new(digest_bits=256, data=s).digest()
            key.sign_recoverable(new(digest_bits=256, data=prefix + inner).digest(), hasher=None)

    results = {
        "ours_orders_per_s": _rate(ours, n_ours, rounds),
        "official_orders_per_s": _rate(official_fn, n_official, max(2, rounds // 2)),
        "floor_orders_per_s": _rate(floor_fast, n_ours, rounds),
        "floor_keccak_new_orders_per_s": _rate(floor_new, n_ours, rounds),
        "order_hash_per_s": _rate(hashes, n_ours, rounds),
        "recover_per_s": _rate(recover, n_ours, rounds),
    }
    out: dict[str, Any] = {k: round(v, 1) for k, v in results.items()}
    out["ours_vs_official"] = round(results["ours_orders_per_s"] / results["official_orders_per_s"], 1)
    out["floor_vs_ours"] = round(results["floor_orders_per_s"] / results["ours_orders_per_s"], 2)
    out["orders"] = n_ours
    out["official_orders"] = n_official
    out["rounds"] = rounds
    out["quick"] = quick
    out["python"] = platform.python_version()
    out["machine"] = platform.machine()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer orders and rounds (a few seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(quick=args.quick)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(f"order signing, one core, python {result['python']} ({'quick' if args.quick else 'full'} run)")
    rows = [
        ("ours (OrderSigner.sign)", "ours_orders_per_s"),
        ("official py_clob_client_v2", "official_orders_per_s"),
        ("floor: 2 keccak + 1 sign", "floor_orders_per_s"),
        ("floor with keccak.new()", "floor_keccak_new_orders_per_s"),
        ("order hash only", "order_hash_per_s"),
        ("recover signer", "recover_per_s"),
    ]
    for label, key in rows:
        print(f"  {label:<30} {result[key]:>12,.0f} /s")
    print(f"  ours / official  = {result['ours_vs_official']}x")
    print(f"  floor / ours     = {result['floor_vs_ours']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
