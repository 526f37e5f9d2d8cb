"""`polyhunter doctor`'s PROXY checks on anvil: a PROXY follower whose proxy is not deployed (or is paused) fails
with NO_PROXY; the fleet check names each worker that is paused, unfunded or not listed, and passes a ready one."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.proxy_direct import missing_approvals
from polyhunter.execution.tx_monitor import TxMonitor
from polyhunter.readiness.checks import CheckResult, Status
from polyhunter.readiness.proxy import proxy_checks
from polyhunter.runtime.run_file import CopySpec, FollowerSpec
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_deploy import compiled, send
from polyhunter.sim.custody_rig import build_custody_rig
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.chain_tools import require_chain_tools
from tests.support.sim_stack import sim_settings

pytestmark = pytest.mark.integration

USDC = 1_000_000
URLS = {
    **dict.fromkeys(("clob", "data_api", "gamma"), "http://127.0.0.1:9"),
    **dict.fromkeys(("clob_ws", "rtds_ws"), "ws://127.0.0.1:9"),
}


def _by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


async def test_doctor_fails_no_proxy_and_checks_the_fleet(tmp_path: Path) -> None:
    require_chain_tools()
    db = tmp_path / "doctor.db"
    await migrate.upgrade(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
    engine = create_engine(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
    box = SecretBox(generate_master_key())
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            try:
                chain = await build_custody_rig(rpc, monitor)
                d = chain.deployment
                ready = await chain.add_worker(50 * USDC)
                unfunded = await chain.add_worker(0)
                paused = await chain.add_worker(50 * USDC)
                for w in (ready, unfunded, paused):
                    async with unit_of_work(create_session_factory(engine)) as session:
                        wid = await WalletRepository(session, box).create(
                            w.sender.address, WalletKind.FLEET, private_key=w.key
                        )
                        await SettlementRepository(session).add_worker(wid, 40 * USDC)
                async with unit_of_work(create_session_factory(engine)) as session:
                    assert await SettlementRepository(session).set_worker_paused(paused.sender.address, True)
                owner = "0x" + secrets.token_hex(20)
                predicted = cc.predicted_proxy_address(d.factory, owner, compiled("PolyHunterProxy").bytecode)
                settings = sim_settings(
                    URLS,
                    db,
                    venue={"chain_rpc_url": anvil.url},
                    proxy={
                        "factory": d.factory,
                        "executor": d.executor,
                        "collateral": d.collateral,
                        "ctf": d.ctf,
                    },
                )
                copy = CopySpec(leader="0x" + "ab" * 20, sizing="FIXED_USDC", sizing_value=Decimal(5))
                spec = FollowerSpec(name="p", custody="PROXY", proxy=predicted, copies=[copy])
                # not deployed yet: NO_PROXY
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["proxy.p"].status is Status.FAIL
                assert results["proxy.p"].reason.startswith("NO_PROXY: no contract at"), results["proxy.p"]
                assert "polyhunter proxy create" in results["proxy.p"].fix
                # the fleet: one ready worker, one unfunded, one paused
                assert results["fleet"].status is Status.PASS
                assert results["fleet"].reason == "1 of 3 worker(s) ready"
                assert results[f"fleet.{ready.sender.address}"].status is Status.PASS
                assert results[f"fleet.{unfunded.sender.address}"].status is Status.FAIL
                assert "not funded" in results[f"fleet.{unfunded.sender.address}"].reason
                assert results[f"fleet.{paused.sender.address}"].status is Status.FAIL
                assert "paused" in results[f"fleet.{paused.sender.address}"].reason
                # deployed: it passes; paused by the admin: NO_PROXY again
                assert await chain.create_proxy(owner) == predicted
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["proxy.p"].status is Status.PASS, results["proxy.p"]
                await send(rpc, d.admin, d.factory, cc.pause_proxy(predicted, True))
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["proxy.p"].status is Status.FAIL
                assert results["proxy.p"].reason.startswith("NO_PROXY:"), results["proxy.p"]
                # the executor paused, or no ready worker: the fleet fails
                await send(rpc, d.admin, d.executor, cc.set_executor_paused(True))
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["fleet"].status is Status.FAIL
                assert "paused" in results["fleet"].reason
                await send(rpc, d.admin, d.executor, cc.set_executor_paused(False))
                await send(rpc, d.admin, d.executor, cc.set_worker(ready.sender.address, False))
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["fleet"].status is Status.FAIL
                assert results["fleet"].reason.startswith("NO_WALLET")
                assert "not listed" in results[f"fleet.{ready.sender.address}"].reason
                # a run without PROXY followers has no PROXY checks
                assert await proxy_checks(settings, [spec.model_copy(update={"custody": "PAPER"})], 3.0) == []
            finally:
                poller.cancel()
                await engine.dispose()


async def test_doctor_checks_a_direct_followers_approvals_and_a_fleet_without_float(tmp_path: Path) -> None:
    """DIRECT: the proxy's collateral must be the venue's (else NO_PROXY), its owner must have approved every
    exchange (``direct.NAME``), and a worker without float or executor approvals is ready (it only signs)."""
    require_chain_tools()
    db = tmp_path / "doctor.db"
    await migrate.upgrade(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
    engine = create_engine(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            try:
                chain = await build_custody_rig(rpc, monitor)
                d = chain.deployment
                signer = await chain.add_worker(0)  # gas, listed; no float
                async with unit_of_work(create_session_factory(engine)) as session:
                    wid = await WalletRepository(session, SecretBox(generate_master_key())).create(
                        signer.sender.address, WalletKind.FLEET, private_key=signer.key
                    )
                    await SettlementRepository(session).add_worker(wid, 0)
                owner = (await rpc.accounts())[1].lower()
                proxy = await chain.create_proxy(owner)
                contracts = {
                    "factory": d.factory,
                    "executor": d.executor,
                    "collateral": d.collateral,
                    "ctf": d.ctf,
                }
                venue = {
                    "chain_rpc_url": anvil.url,
                    "approval_spenders": ["0x" + "e1" * 20, "0x" + "e2" * 20],
                }
                here = {"collateral_contract": d.collateral, "conditional_tokens": d.ctf}
                settings = sim_settings(URLS, db, venue={**venue, **here}, proxy=contracts)
                copy = CopySpec(leader="0x" + "ab" * 20, sizing="FIXED_USDC", sizing_value=Decimal(5))
                spec = FollowerSpec.model_validate(
                    {"name": "d", "custody": "DIRECT", "proxy": proxy, "copies": [copy]}
                )
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["proxy.d"].status is Status.PASS, results["proxy.d"]
                assert results["proxy.d"].reason.endswith("(DIRECT)")
                assert results["direct.d"].status is Status.FAIL
                assert results["direct.d"].reason.startswith("the proxy has not approved: pUSD allowance of")
                assert "polyhunter proxy approve" in results["direct.d"].fix
                assert results["fleet"].reason == "1 of 1 worker(s) ready"  # no float needed to sign
                assert "signs DIRECT orders" in results[f"fleet.{signer.sender.address}"].reason
                # the owner approves both exchanges: ready
                for call in await missing_approvals(
                    rpc, proxy, d.collateral, d.ctf, venue["approval_spenders"]
                ):
                    await send(rpc, owner, call.to, call.data)
                results = _by_name(await proxy_checks(settings, [spec], 3.0))
                assert results["direct.d"].status is Status.PASS, results["direct.d"]
                # with a PROXY follower beside it, the same worker needs float
                float_spec = FollowerSpec(name="p", custody="PROXY", proxy=proxy, copies=[copy])
                results = _by_name(await proxy_checks(settings, [spec, float_spec], 3.0))
                assert results["fleet"].status is Status.FAIL
                assert "not funded" in results[f"fleet.{signer.sender.address}"].reason
                # the proxy holds another collateral than the venue's: its orders cannot settle, NO_PROXY
                elsewhere = sim_settings(URLS, db, venue=venue, proxy=contracts)
                results = _by_name(await proxy_checks(elsewhere, [spec], 3.0))
                assert results["proxy.d"].status is Status.FAIL
                assert results["proxy.d"].reason.startswith("NO_PROXY: DIRECT custody: proxy.collateral")
                assert results["direct.d"].status is Status.SKIP
            finally:
                poller.cancel()
                await engine.dispose()
