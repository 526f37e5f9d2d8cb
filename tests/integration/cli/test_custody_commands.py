"""`polyhunter fleet add|status|pause` and `polyhunter proxy create|deposit|withdraw|status` as an operator
runs them, against anvil with the custody contracts deployed: keys only through env vars, one-line errors."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.abi import encode, function_selector
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.cli import app
from polyhunter.secretbox import generate_master_key
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_deploy import CustodyDeployment, deploy_custody, send
from tests.support.chain_tools import require_chain_tools

pytestmark = pytest.mark.integration

USDC = 1_000_000


@dataclass
class Chain:
    url: str
    d: CustodyDeployment
    env: dict[str, str | None]


async def _setup(url: str, keys: list[str]) -> CustodyDeployment:
    async with JsonRpcClient(url) as rpc:
        d = await deploy_custody(rpc)
        for key in keys:
            await rpc.call("anvil_setBalance", [TxSigner(key, 1).address, hex(10**20)])
        return d


async def _read(url: str, to: str, data: bytes) -> bytes:
    async with JsonRpcClient(url) as rpc:
        return await rpc.call_contract(to, data)


async def _admin(url: str, sender: str, to: str, data: bytes) -> None:
    async with JsonRpcClient(url) as rpc:
        await send(rpc, sender, to, data)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    require_chain_tools()
    tmp = tmp_path_factory.mktemp("custody-cli")
    worker, owner = "0x" + secrets.token_hex(32), "0x" + secrets.token_hex(32)
    with AnvilProcess() as anvil:
        d = asyncio.run(_setup(anvil.url, [worker, owner]))
        env: dict[str, str | None] = {k: None for k in os.environ if k.upper().startswith("POLYHUNTER")}
        env.update(
            POLYHUNTER__DB__URL=f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
            POLYHUNTER__SECRETS__MASTER_KEY=generate_master_key(),
            POLYHUNTER__VENUE__CHAIN_RPC_URL=anvil.url,
            POLYHUNTER__PROXY__FACTORY=d.factory,
            POLYHUNTER__PROXY__EXECUTOR=d.executor,
            POLYHUNTER__PROXY__COLLATERAL=d.collateral,
            POLYHUNTER__PROXY__CTF=d.ctf,
            WORKER_KEY=worker,
            OWNER_KEY=owner,
        )
        yield Chain(anvil.url, d, env)


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def cli(chain: Chain, *args: str) -> Done:
    """The command in this process (a fresh interpreter per command costs a minute on a loaded machine)."""
    result = CliRunner().invoke(app, list(args), env=chain.env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def test_fleet_and_proxy_lifecycle(chain: Chain) -> None:
    worker_key, owner_key = str(chain.env["WORKER_KEY"]), str(chain.env["OWNER_KEY"])
    worker, owner = TxSigner(worker_key, 1).address, TxSigner(owner_key, 1).address
    added = cli(chain, "fleet", "add", "--key-env", "WORKER_KEY", "--float-usdc", "250.5", "--approve")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"fleet worker {worker} added (float 250.5 USDC)"
    assert worker_key[2:] not in added.stdout + added.stderr
    approved = asyncio.run(
        _read(
            chain.url,
            chain.d.collateral,
            function_selector("allowance(address,address)")
            + encode(["address", "address"], [worker, chain.d.executor]),
        )
    )
    assert cc.decode_uint(approved) == 2**256 - 1
    status = cli(chain, "fleet", "status")
    assert f"{worker}  float 0 / 250.5 USDC  active" in status.stdout, status.stdout + status.stderr
    assert cli(chain, "fleet", "pause", worker).returncode == 0
    assert "PAUSED" in cli(chain, "fleet", "status").stdout
    assert cli(chain, "fleet", "pause", worker, "--resume").returncode == 0

    created = cli(chain, "proxy", "create", owner, "--key-env", "WORKER_KEY")
    assert created.returncode == 0, created.stderr
    proxy = created.stdout.strip()
    predicted = cc.decode_address(asyncio.run(_read(chain.url, chain.d.factory, cc.predict_proxy(owner))))
    assert proxy == predicted
    again = cli(chain, "proxy", "create", owner, "--key-env", "WORKER_KEY")
    assert again.stdout.strip() == proxy  # once per owner: the same address

    mint = function_selector("mint(address,uint256)") + encode(["address", "uint256"], [owner, 10 * USDC])
    asyncio.run(_admin(chain.url, chain.d.admin, chain.d.collateral, mint))
    deposit = cli(chain, "proxy", "deposit", proxy, "--usdc", "7.25", "--key-env", "OWNER_KEY")
    assert deposit.returncode == 0, deposit.stderr
    assert f"proxy {proxy}: 7.25 USDC on chain" in cli(chain, "proxy", "status", proxy).stdout
    withdrawn = cli(chain, "proxy", "withdraw", proxy, "--usdc", "2", "--key-env", "OWNER_KEY")
    assert withdrawn.returncode == 0, withdrawn.stderr
    balance = cc.decode_uint(asyncio.run(_read(chain.url, chain.d.collateral, cc.erc20_balance_of(owner))))
    assert balance == 10 * USDC - 7_250_000 + 2 * USDC
    # the worker is not the owner: the proxy refuses, one line, exit 1
    stolen = cli(chain, "proxy", "withdraw", proxy, "--usdc", "1", "--key-env", "WORKER_KEY")
    assert stolen.returncode == 1
    assert stolen.stderr.strip().splitlines() == [stolen.stderr.strip()]
    assert "reverted on chain" in stolen.stderr
    assert f"proxy {proxy}: 5.25 USDC on chain" in cli(chain, "proxy", "status", proxy).stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["fleet", "add", "--key-env", "NOPE", "--float-usdc", "1"], "env var NOPE is not set"),
        (["fleet", "add", "--key-env", "WORKER_KEY", "--float-usdc", "-1"], "--float-usdc: must be > 0"),
        (["fleet", "add", "--key-env", "WORKER_KEY", "--float-usdc", "1.0000001"], "at most 6 decimals"),
        (["fleet", "add", "--key-env", "WORKER_KEY", "--float-usdc", "lots"], "not a number"),
        (["proxy", "status", "0x1234"], "PROXY: not an address"),
        (["proxy", "status", "0x" + "12" * 20], "is not a proxy of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(chain: Chain, args: list[str], says: str) -> None:
    done = cli(chain, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


async def _gas(url: str, address: str) -> None:
    async with JsonRpcClient(url) as rpc:
        await rpc.call("anvil_setBalance", [address, hex(10**20)])


def test_proxy_approve_lets_the_exchanges_settle_a_direct_proxys_orders(chain: Chain) -> None:
    owner_key = "0x" + secrets.token_hex(32)
    owner = TxSigner(owner_key, 1).address
    asyncio.run(_gas(chain.url, owner))
    direct = Chain(
        chain.url,
        chain.d,
        {
            **chain.env,
            "DIRECT_OWNER_KEY": owner_key,
            # DIRECT trades the venue's collateral: here the test tokens stand for pUSD and the CTF
            "POLYHUNTER__VENUE__COLLATERAL_CONTRACT": chain.d.collateral,
            "POLYHUNTER__VENUE__CONDITIONAL_TOKENS": chain.d.ctf,
        },
    )
    proxy = cli(direct, "proxy", "create", owner, "--key-env", "DIRECT_OWNER_KEY").stdout.strip()
    # the proxy's collateral is not the venue's pUSD: its orders could not settle from it
    elsewhere = Chain(chain.url, chain.d, {**chain.env, "DIRECT_OWNER_KEY": owner_key})
    refused = cli(elsewhere, "proxy", "approve", proxy, "--key-env", "DIRECT_OWNER_KEY")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: NO_PROXY: DIRECT custody: proxy.collateral"), refused.stderr
    stranger = cli(direct, "proxy", "approve", proxy, "--key-env", "WORKER_KEY")
    assert stranger.returncode == 2
    assert "is not the key of" in stranger.stderr
    planned = cli(direct, "proxy", "approve", proxy, "--key-env", "DIRECT_OWNER_KEY", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    spenders = 3  # the V2 exchange, the neg-risk V2 exchange, the neg-risk adapter
    assert planned.stdout.count("would send: ") == 2 * spenders
    status = cli(direct, "proxy", "status", proxy).stdout
    assert "mode no follower  DIRECT orders: missing pUSD allowance of 0xe111" in status
    sent = cli(direct, "proxy", "approve", proxy, "--key-env", "DIRECT_OWNER_KEY")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.count("sent: ") == 2 * spenders
    exchange = "0xe111180000d2663c0091e4f400237545b87b996b"
    allowance = asyncio.run(_read(chain.url, chain.d.collateral, cc.erc20_allowance(proxy, exchange)))
    assert cc.decode_uint(allowance) == 2**256 - 1
    operator = asyncio.run(_read(chain.url, chain.d.ctf, cc.erc1155_is_approved_for_all(proxy, exchange)))
    assert cc.decode_bool(operator)
    again = cli(direct, "proxy", "approve", proxy, "--key-env", "DIRECT_OWNER_KEY")
    assert again.stdout.strip() == f"{proxy}: every exchange is approved (nothing to send)"
    assert "DIRECT orders: every exchange approved" in cli(direct, "proxy", "status", proxy).stdout
