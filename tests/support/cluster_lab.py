"""`polyhunter worker` processes as separate hosts for the cluster end-to-end tests
(tests/e2e/test_cluster_failover.py, tests/e2e/test_cluster_faults.py): where they run (network
namespaces, or loopback where none can be made), starting them and waiting for them, reading the
test's database and the cluster's status, and the checks at the end: one copy per (signal, config of its
leader), no venue order twice or unrecorded, no copy filled twice, no leader fill lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess  # noqa: S404 - our own CLI
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import redis

from polyhunter.cluster.status import cluster_status
from polyhunter.cluster.worker import cluster_redis
from polyhunter.secretbox import generate_master_key
from polyhunter.settings import ClusterSettings
from tests.support.cli_runs import CLI, admin, get_json, setting_env
from tests.support.netns_lab import Forwarder, NetLab
from tests.support.processes import stop_process

READY_S = 150  # three workers start at once, each provisioning (in turn) the run file's followers


def pg(dsn: str, sql: str) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(go())


def status(settings: ClusterSettings, redis_url: str, prefix: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        client = cluster_redis(redis_url, 1)
        try:
            return await cluster_status(client, prefix, settings)
        finally:
            await client.aclose()

    return asyncio.run(go())


class Hosts:
    """Where the workers run: namespaces on a bridge, or (fallback) this host's loopback. PostgreSQL at
    127.0.0.1:`pg_port` and Redis at 127.0.0.1:`redis_port` (the shared ones, or a test's own) are
    forwarded to the bridge address; `pg_port` / `redis_port` are where the workers reach them."""

    def __init__(self, stack: ExitStack, pg_port: int = 5432, redis_port: int = 6379) -> None:
        self.isolated = NetLab.available()
        self.lab = stack.enter_context(NetLab()) if self.isolated else None
        self.address = self.lab.gateway if self.lab is not None else "127.0.0.1"  # where the services are
        ports = [pg_port, redis_port]
        self.fwd = stack.enter_context(Forwarder(self.address, ports)) if self.lab is not None else None
        self.pg_port = self.fwd.ports[pg_port] if self.fwd is not None else pg_port
        self.redis_port = self.fwd.ports[redis_port] if self.fwd is not None else redis_port
        self._count = 0

    @property
    def kind(self) -> str:
        return "network namespaces" if self.isolated else "loopback"

    def prefix(self) -> tuple[list[str], str]:
        self._count += 1
        if self.lab is None:
            return [], "127.0.0.1"
        return self.lab.add_host(self._count)


def start_sim(
    stack: ExitStack, tmp: Path, hosts: Hosts, *, leaders: int, rate: float, seed: int, markets: int = 4
) -> dict[str, str]:
    """`polyhunter sim` (the `leaders` scenario) at the services' address until `stack` closes; its URLs."""
    sim_log = tmp / "sim.log"
    with sim_log.open("wb") as out:
        sim = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "sim", "--port", "0", "--host", hosts.address, "--scenario", "leaders"]
            + [
                "--leaders",
                str(leaders),
                "--rate",
                str(rate),
                "--markets",
                str(markets),
                "--seed",
                str(seed),
            ],
            stdout=subprocess.PIPE,
            stderr=out,
            start_new_session=True,
        )
    stack.callback(stop_process, sim, timeout_s=30)
    assert sim.stdout is not None
    urls: dict[str, str] = json.loads(sim.stdout.readline() or b"{}")
    assert urls, f"the simulator did not start; see {sim_log}"
    return urls


def sim_leaders(urls: dict[str, str]) -> list[str]:
    return [x["address"].lower() for x in admin(urls["admin"], "/scenario")["leaders"]]


def worker_env(
    urls: dict[str, str], hosts: Hosts, db: str, key_prefix: str, extra: dict[str, object]
) -> dict[str, str]:
    """The environment of every worker: the simulator, database `db` and Redis through `hosts`, the
    test's own key prefix, and `extra` (settings and plain variables such as follower keys)."""
    settings: dict[str, object] = {
        "venue.clob_url": urls["clob"],
        "venue.data_api_url": urls["data_api"],
        "venue.gamma_url": urls["gamma"],
        "venue.clob_ws_url": urls["clob_ws"],
        "venue.rtds_ws_url": urls["rtds_ws"],
        "db.url": f"postgresql+asyncpg://{hosts.address}:{hosts.pg_port}/{db}",
        "coord.backend": "redis",
        "coord.redis_url": f"redis://{hosts.address}:{hosts.redis_port}/0",
        "coord.key_prefix": key_prefix,
        "ingest.mode": "HYBRID",
        "ingest.chain_in_hybrid": "false",
        "ingest.poll_interval_ms": 1500,
        "engine.aggregation_window_ms": 1000,
        "api.port": 0,
        "api.host": "0.0.0.0" if hosts.isolated else "127.0.0.1",  # noqa: S104 - a namespace of its own
        "secrets.master_key": generate_master_key(),
        "logging.level": "INFO",
    }
    plain = {k: str(v) for k, v in extra.items() if "." not in k}
    settings.update({k: v for k, v in extra.items() if "." in k})
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env.update(plain)
    env.update(setting_env(settings))
    return env


def fills_go_on(admin_url: str, more: float, limit_s: float = 60) -> None:
    """Wait until the simulator's leaders filled `more` times again."""
    fills = admin(admin_url, "/scenario")["leader_fills"]
    deadline = time.monotonic() + limit_s
    while admin(admin_url, "/scenario")["leader_fills"] < fills + more:
        assert time.monotonic() < deadline, "the leaders' flow did not go on"
        time.sleep(0.2)


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    address: str
    log: Path
    id: str = ""


def start_worker(hosts: Hosts, env: dict[str, str], run_file: Path, log: Path) -> Worker:
    prefix, address = hosts.prefix()
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI (in a namespace through `ip netns exec`)
            [*prefix, *CLI, "worker", "--roles", "ingest,execute", "--config", str(run_file)],
            env=env,
            cwd=run_file.parent,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return Worker(proc, address, log)


def wait_ready(worker: Worker, limit_s: float = READY_S) -> str:
    """The worker's id once it printed its ready line."""
    deadline = time.monotonic() + limit_s
    while True:
        for line in worker.log.read_text(errors="replace").splitlines():
            if line.startswith('{"event": "worker ready"'):
                worker.id = str(json.loads(line)["worker"])
                return worker.id
        assert worker.proc.poll() is None, f"worker exited ({worker.proc.returncode}); see {worker.log}"
        assert time.monotonic() < deadline, f"worker not ready within {limit_s}s; see {worker.log}"
        time.sleep(0.2)


def metrics(worker: Worker) -> str:
    """A worker's /metrics, at its own address (its API listens on every address of its namespace)."""
    text = worker.log.read_text()
    line = next(x for x in text.splitlines() if x.startswith('{"event": "worker ready"'))
    port = str(json.loads(line)["api"]).rsplit(":", 1)[1]
    with urllib.request.urlopen(f"http://{worker.address}:{port}/metrics", timeout=30) as resp:  # noqa: S310
        return str(resp.read().decode())


def drop_keys(key_prefix: str, url: str = "redis://127.0.0.1:6379/0") -> None:
    """The test's own Redis keys (its coordinator's and its cluster's), never anyone else's."""
    client = redis.Redis.from_url(url)
    try:
        for pattern in (f"{key_prefix}:*", "{" + key_prefix + ":*"):
            batch = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(batch), 500):
                client.delete(*batch[i : i + 500])
    finally:
        client.close()


def leader_fills(data_api: str, leaders: list[str]) -> list[dict[str, Any]]:
    """Every fill of the leaders the venue shows (its Data API), with its unix time."""
    out = []
    for leader in leaders:
        out += get_json(f"{data_api}/trades?user={leader}&limit=10000")
    return out


def stream_drained(settings: ClusterSettings, redis_url: str, prefix: str) -> bool:
    """Every partition has read and acknowledged every entry of the signal stream (lag and pending 0)."""
    return all(p["lag"] == 0 and p["pending"] == 0 for p in status(settings, redis_url, prefix)["partitions"])


def wait_quiet(
    dsn: str, fills: int, limit_s: float, drained: Callable[[], bool] | None = None
) -> dict[str, int]:
    """Until every fill the venue shows has a signal or quiet set in: no copy is PENDING, every partition
    read the whole stream (`drained`, if given), and the signal and copy tables stayed the same for
    three seconds (a partition's owner may be handing on recovered signals, or backing off up to 5 s
    after a failed hand-off, with no lag left to show for it: 3 s of the same counts, then `drained`)."""
    sql = "SELECT state, count(*) AS n FROM copy_trades GROUP BY state"
    last: Any = None
    since = time.monotonic()
    deadline = since + limit_s
    while time.monotonic() < deadline:
        signals = int(pg(dsn, "SELECT count(*) AS n FROM signals")[0]["n"])
        states = {r["state"]: int(r["n"]) for r in pg(dsn, sql)}
        now = (signals, sorted(states.items()))
        if now != last:
            last, since = now, time.monotonic()
        elif "PENDING" not in states and time.monotonic() - since >= 3.0 and signals <= fills:
            if drained is None or drained():
                return states
            since = time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"no quiescence: {last}")


@dataclass
class CopyReport:
    """What the database and the venue show at the end of a cluster run."""

    signals: int
    states: dict[str, int]
    twice: list[tuple[str, int]]  # (signal, config) pairs with several copy rows
    missing: list[tuple[str, int]]  # ... with none
    extra: list[tuple[str, int]]  # copy rows of a config that does not follow the signal's leader
    venue_orders: int
    matched: int
    resent: dict[str, int]  # venue order ids received more than once
    unrecorded: list[str]  # venue orders with no row in `orders`
    doubled: dict[Any, int]  # copies with several matched venue orders
    lost: list[tuple[str, str, str, str, int]]  # leader fills (after the first worker was up) with no signal
    before: int  # leader fills before the first worker was up (not followed yet)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"signals {self.signals}, copies {self.states}, venue orders {self.venue_orders} "
            f"(matched {self.matched}), lost {len(self.lost)}, duplicate copies {len(self.twice)}, "
            f"missing copies {len(self.missing)}, resent orders {len(self.resent)}, "
            f"doubly filled copies {len(self.doubled)}, fills before the first worker {self.before}"
        )

    def assert_clean(self) -> None:
        assert not self.twice, f"{len(self.twice)} (signal, config) pairs with several copies"
        assert not self.missing, (
            f"{len(self.missing)} (signal, config) pairs with no copy, e.g. {sorted(self.missing)[:3]}"
        )
        assert not self.extra, f"{len(self.extra)} copies nobody expected"
        assert "PENDING" not in self.states, self.states
        assert not self.resent, f"orders that reached the venue twice: {self.resent}"
        assert not self.unrecorded, f"{len(self.unrecorded)} venue orders not recorded before they were sent"
        assert not self.doubled, f"copies with two matched orders: {self.doubled}"
        assert not self.lost, (
            f"{len(self.lost)} leader fills after the first worker was up have no signal: {self.lost[:3]}"
        )
        assert self.matched > 0, "no copy reached the venue and filled"


def check_copies(
    dsn: str,
    venue_fills: list[dict[str, Any]],
    received: list[dict[str, Any]],
    makers: list[str],
    first_up: float,
) -> CopyReport:
    """`received`: the simulator's record of the orders it received (`/orders`); `makers`: our own
    wallets' addresses; `first_up`: unix time from which the leaders were followed."""
    signals = pg(dsn, "SELECT key, leader, asset, side, size_micro, tx_hash FROM signals")
    configs = pg(
        dsn, "SELECT c.id, l.address FROM copy_configs c JOIN leaders l ON l.id = c.leader_id WHERE c.active"
    )
    copies = pg(dsn, "SELECT id, signal_key, config_id, state, reason FROM copy_trades")
    orders = pg(dsn, "SELECT venue_order_id, copy_trade_id, status FROM orders")
    by_leader: dict[str, list[int]] = {}
    for c in configs:
        by_leader.setdefault(c["address"], []).append(int(c["id"]))
    expected = {(s["key"], cid) for s in signals for cid in by_leader.get(s["leader"], [])}
    got = Counter((c["signal_key"], int(c["config_id"])) for c in copies)
    ours = {m.lower() for m in makers}
    mine = [r for r in received if str(r["order"].get("maker", "")).lower() in ours]
    copy_of = {r["venue_order_id"]: r["copy_trade_id"] for r in orders}
    matched = Counter(copy_of.get(r["orderID"]) for r in mine if r["accepted"] and r["status"] == "matched")
    have = {(s["tx_hash"], s["leader"], s["asset"], s["side"], int(s["size_micro"])) for s in signals}
    lost, before = [], 0
    for r in venue_fills:
        k = (
            str(r["transactionHash"]).lower(),
            str(r["proxyWallet"]).lower(),
            str(r["asset"]),
            str(r["side"]),
            int(Decimal(str(r["size"])) * 1_000_000),
        )
        if k in have:
            continue
        if int(r["timestamp"]) <= first_up:  # leaders are followed from a worker's start on
            before += 1
        else:
            lost.append(k)
    return CopyReport(
        signals=len(signals),
        states=dict(Counter(c["state"] for c in copies)),
        twice=[k for k, n in got.items() if n > 1],
        missing=sorted(expected - set(got)),
        extra=sorted(set(got) - expected),
        venue_orders=len(mine),
        matched=sum(matched.values()),
        resent={h: n for h, n in Counter(r["orderID"] for r in mine).items() if n > 1},
        unrecorded=[r["orderID"] for r in mine if r["orderID"] not in copy_of],
        doubled={c: n for c, n in matched.items() if n > 1},
        lost=lost,
        before=before,
    )
