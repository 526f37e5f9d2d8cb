"""Scale-out end to end: `polyhunter worker` processes share 1,000 followers of 20 leaders through the
Redis signal stream; one is SIGKILLed mid-run and another added.

Each worker runs in a network namespace of its own with its own address (tests/support/netns_lab.py),
reaching PostgreSQL, Redis and the simulator over a bridge (falling back to processes on loopback where
namespaces cannot be made: the test prints which). Every worker has both roles (ingest and execute); the
simulator's leaders trade at a steady rate until the test stops them (after the added worker joined). Checks: the killed worker's partitions are
owned again within 10 s, the added worker takes some; at the end every (signal, config of its leader) has
exactly one copy row and it is terminal, no order reached the venue twice and none is unrecorded, no copy
has two matched orders, and no leader fill the venue shows after the first worker came up is missing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from polyhunter.cluster.worker import cluster_prefix
from polyhunter.settings import ClusterSettings
from tests.support.cli_runs import CLI, admin, setting_env
from tests.support.cluster_lab import (
    Hosts,
    Worker,
    check_copies,
    drop_keys,
    fills_go_on,
    leader_fills,
    metrics,
    pg,
    sim_leaders,
    start_sim,
    start_worker,
    status,
    stream_drained,
    wait_quiet,
    wait_ready,
    worker_env,
)
from tests.support.pg_databases import create_pg_database, drop_pg_database
from tests.support.processes import stop_process
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

SEED = 20261206
LEADERS = 20
FOLLOWERS = 1000
EOA = 20  # one own-wallet follower per leader (their orders reach the venue); the others PAPER
RATE = 1.5  # leader fills per second, until the test stops the flow
AFTER_ADD_S = 4.0  # the flow goes on this long once the added worker owns partitions
PARTITIONS = 12
TTL_S = 8  # PENDING time to live: the killed worker's sent copies are settled by the others' sweeps
SCAN_MS = 500
REOWN_LIMIT_S = 10.0


def _run_file(leaders: list[str]) -> str:
    parts = []
    for i in range(FOLLOWERS):
        leader = leaders[i % LEADERS]
        custody = f'custody = "EOA"\nprivate_key_env = "SCALE_KEY_{i}"' if i < EOA else 'custody = "PAPER"'
        parts.append(
            f'[[followers]]\nname = "f{i}"\n{custody}\n[[followers.copies]]\nleader = "{leader}"\n'
            f'sizing = "FIXED_USDC"\nsizing_value = "{5 + i % 3}"\n'
        )
    return "\n".join(parts)


@contextmanager
def _database() -> Iterator[str]:
    name = create_pg_database()
    try:
        yield name
    finally:
        drop_pg_database(name)


@pytest.mark.timeout(480)  # worker start-up dominates: ~150 s at load 10 on 2 cores
def test_workers_share_partitions_and_take_over_a_killed_one(tmp_path: Path) -> None:
    started = time.monotonic()
    run_file = tmp_path / "run.toml"
    keys = {f"SCALE_KEY_{i}": follower_key("scale", i)[0] for i in range(EOA)}
    makers = [follower_key("scale", i)[1] for i in range(EOA)]
    key_prefix = f"t-scale-{uuid.uuid4().hex[:10]}"
    workers: list[Worker] = []
    with ExitStack() as stack:
        stack.callback(drop_keys, key_prefix)
        hosts = Hosts(stack)
        db = stack.enter_context(_database())
        urls = start_sim(stack, tmp_path, hosts, leaders=LEADERS, rate=RATE, seed=SEED)
        leaders = sim_leaders(urls)
        run_file.write_text(_run_file(leaders))
        for address in makers:
            admin(urls["admin"], "/fund", {"address": address, "collateral": "100000"})
        dsn_local = f"postgresql://127.0.0.1:5432/{db}"
        tuning = {
            "cluster.partitions": PARTITIONS,
            "engine.pending_ttl_s": TTL_S,
            "engine.expiry_scan_interval_ms": SCAN_MS,
        }
        env = worker_env(urls, hosts, db, key_prefix, {**tuning, **keys})

        def stop_all() -> None:
            for w in workers:
                stop_process(w.proc, timeout_s=20)

        stack.callback(stop_all)
        workers += [start_worker(hosts, env, run_file, tmp_path / f"worker-{n}.log") for n in (1, 2, 3)]
        ids = [wait_ready(workers[0])]
        first_up = time.time()  # a leader's fills are copied from its first follower's start on
        ids += [wait_ready(w) for w in workers[1:]]
        up_at = time.monotonic()
        deployment = pg(dsn_local, "SELECT deployment_id FROM deployment")[0]["deployment_id"]
        prefix = cluster_prefix(f"{key_prefix}:{deployment}")
        cs = ClusterSettings(partitions=PARTITIONS)
        redis_url = "redis://127.0.0.1:6379/0"

        def owners() -> dict[int, str | None]:
            return {p["partition"]: p["owner"] for p in status(cs, redis_url, prefix)["partitions"]}

        deadline = time.monotonic() + 30
        while set(owners().values()) != set(ids):  # all three own partitions
            assert time.monotonic() < deadline, owners()
            time.sleep(0.2)
        fills_go_on(urls["admin"], 2 * RATE)  # mid-run
        held = Counter(owners().values())
        victim = max(workers, key=lambda w: held[w.id])  # the one holding the most partitions
        victim_partitions = [p for p, o in owners().items() if o == victim.id]
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=30)
        killed_at = time.monotonic()
        added = start_worker(hosts, env, run_file, tmp_path / "worker-4.log")
        workers.append(added)
        reowned_s = None
        while time.monotonic() - killed_at < 30:
            now = owners()
            if victim.id not in now.values() and None not in now.values():
                reowned_s = time.monotonic() - killed_at
                break
            time.sleep(0.1)
        added_id = wait_ready(added)
        deadline = time.monotonic() + 30
        while added_id not in owners().values():
            assert time.monotonic() < deadline, f"the added worker took no partition: {owners()}"
            time.sleep(0.2)
        while "polyhunter_cluster_partition_lag{partition=" not in (text := metrics(added)):
            assert time.monotonic() < deadline + 10, f"no partition lag in /metrics: {text[-2000:]}"
            time.sleep(0.5)  # the worker reads the positions once a beat
        assert "polyhunter_cluster_partitions_owned" in text
        fills_go_on(urls["admin"], AFTER_ADD_S * RATE)
        admin(urls["admin"], "/scenario/stop", {})
        venue_fills = leader_fills(urls["data_api"], leaders)
        wait_quiet(dsn_local, len(venue_fills), 120, lambda: stream_drained(cs, redis_url, prefix))
        final_owners = owners()
        status_cli = subprocess.run(  # noqa: S603 - our own CLI
            [*CLI, "cluster", "status", "--json"],
            env={
                **env,
                **setting_env(
                    {"db.url": f"postgresql+asyncpg://127.0.0.1:5432/{db}", "coord.redis_url": redis_url}
                ),
            },
            capture_output=True,
            check=True,
            timeout=60,
        )
        cluster = json.loads(status_cli.stdout)
        received = admin(urls["admin"], "/orders")
        survivors = [w for w in workers if w is not victim]
        for w in survivors:
            assert w.proc.poll() is None, "a worker died"
        codes = [stop_process(w.proc, timeout_s=30) for w in survivors]
        report = check_copies(dsn_local, venue_fills, received, makers, first_up)
    total_s = time.monotonic() - started
    print(  # noqa: T201 - the test reports what it measured
        f"\ncluster e2e ({hosts.kind}): {FOLLOWERS} followers / {LEADERS} leaders / {PARTITIONS} "
        f"partitions, {report.line()}, killed worker held {len(victim_partitions)} partitions, "
        f"re-owned in {reowned_s if reowned_s is None else round(reowned_s, 2)} s, "
        f"added worker owns {sum(1 for o in final_owners.values() if o == added_id)}, "
        f"venue fills {len(venue_fills)}, exit codes {codes}, up {time.monotonic() - up_at:.0f}s, "
        f"total {total_s:.1f}s"
    )
    assert reowned_s is not None, "the killed worker's partitions were not owned again"
    assert reowned_s <= REOWN_LIMIT_S, reowned_s
    assert victim.id not in final_owners.values()
    assert None not in final_owners.values()
    assert len(cluster["members"]) == 3, cluster
    assert not cluster["unowned"], cluster
    report.assert_clean()
    assert codes == [0, 0, 0]
