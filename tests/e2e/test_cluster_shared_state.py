"""State shared by cluster workers, end to end: `polyhunter worker` processes (each in a network
namespace of its own where one can be made, else on loopback), the simulator, PostgreSQL and Redis.

The workers follow nobody at start (no run file); everything comes through one worker's API, and the
workers poll the change counter only every 10 s (`api.sync_interval_ms`): what reaches them sooner came
through the change feed (Redis pub/sub). Measured and checked:

1. A config created through the API is copied by its partition's owner within about a second of its
   creation (the next leader fill after it, ~0.5 s apart here).
2. An own-wallet follower's breaker opens on the worker owning its partition (the venue refuses its
   orders); that worker stops (SIGTERM: its partitions move at once); the new owner keeps refusing the
   follower's copies (SKIPPED GUARDRAIL_CIRCUIT_BREAKER) until the cooldown ends, then copies again.
3. `polyhunter switches --halt`, then `--resume --dry-run`, then `--live` (the platform switches in the
   database, published on the change feed): every owner vetoes the copies (GUARDRAIL_KILL_SWITCH, then
   GUARDRAIL_DRY_RUN) within seconds, none sent, then copies again. Then "stop everything" through the
   API of one worker: every worker stops copying the account's configs within seconds (their copies
   SKIPPED CONFIG_PAUSED, none executed after).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess  # noqa: S404 - our own CLI
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.cluster.partitions import partition_of
from polyhunter.cluster.worker import cluster_prefix
from polyhunter.settings import ClusterSettings
from tests.support.api_stack import sign_up
from tests.support.cli_runs import CLI, admin, setting_env
from tests.support.cluster_lab import Hosts, Worker, drop_keys, pg, sim_leaders, start_sim, status, worker_env
from tests.support.pg_databases import create_pg_database, drop_pg_database
from tests.support.processes import stop_process
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

PARTITIONS = 8
PAPER = 8  # paper followers, spread over the partitions (the kill switch reaches every owner)
COOLDOWN_S = 25  # long enough for the first owner's drain (<= 10 s) and the move
FEED_LIMIT_S = (
    5.0  # a config's first copy after its creation (the brief: about a second; the next fill, under load)
)
STOP_LIMIT_S = 3.0  # no copy executes this long after "stop everything"
READY_S = 150


@contextmanager
def _database() -> Iterator[str]:
    name = create_pg_database()
    try:
        yield name
    finally:
        drop_pg_database(name)


def _start(hosts: Hosts, env: dict[str, str], log: Path) -> Worker:
    prefix, address = hosts.prefix()
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI (in a namespace through `ip netns exec`)
            [*prefix, *CLI, "worker", "--roles", "ingest,execute"],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return Worker(proc, address, log)


def _ready(worker: Worker) -> str:
    """The worker's API base URL at its own address, once it printed its ready line."""
    deadline = time.monotonic() + READY_S
    while True:
        for line in worker.log.read_text(errors="replace").splitlines():
            if line.startswith('{"event": "worker ready"'):
                ready = json.loads(line)
                worker.id = str(ready["worker"])
                return f"http://{worker.address}:{str(ready['api']).rsplit(':', 1)[1]}"
        assert worker.proc.poll() is None, f"worker exited; see {worker.log}"
        assert time.monotonic() < deadline, f"worker not ready; see {worker.log}"
        time.sleep(0.2)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - the test's own worker
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read() or b"null")


def _token(base: str) -> str:
    async def go() -> str:
        async with aiohttp.ClientSession() as http:
            client = await sign_up(http, base, "alice")
            assert client.token is not None
            return client.token

    return asyncio.run(go())


def _until(cond: Callable[[], Any], limit_s: float, what: str) -> Any:
    deadline = time.monotonic() + limit_s
    while not (got := cond()):
        assert time.monotonic() < deadline, f"not within {limit_s} s: {what}"
        time.sleep(0.1)
    return got


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.timeout(480)
def test_feed_breaker_and_kill_switch_reach_every_worker(tmp_path: Path) -> None:
    key_prefix = f"t-shared-{uuid.uuid4().hex[:10]}"
    eoa_key, eoa_maker = follower_key("shared", 0)
    with ExitStack() as stack:
        stack.callback(drop_keys, key_prefix)
        hosts = Hosts(stack)
        db = stack.enter_context(_database())
        urls = start_sim(stack, tmp_path, hosts, leaders=2, rate=4.0, seed=1206)
        leader_a, leader_b = sim_leaders(urls)[:2]
        admin(urls["admin"], "/fund", {"address": eoa_maker, "collateral": "100000"})
        env = worker_env(
            urls,
            hosts,
            db,
            key_prefix,
            {
                "cluster.partitions": PARTITIONS,
                "api.sync_interval_ms": 10_000,  # sooner than this: the change feed
                "guardrails.circuit_breaker_failures": 2,
                "guardrails.circuit_breaker_cooldown_s": COOLDOWN_S,
            },
        )
        workers: list[Worker] = []

        def stop_all() -> None:
            for w in workers:
                stop_process(w.proc, timeout_s=20)

        stack.callback(stop_all)
        workers += [_start(hosts, env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
        bases = [_ready(w) for w in workers]
        dsn = f"postgresql://127.0.0.1:5432/{db}"
        deployment = pg(dsn, "SELECT deployment_id FROM deployment")[0]["deployment_id"]
        prefix = cluster_prefix(f"{key_prefix}:{deployment}")
        cs = ClusterSettings(partitions=PARTITIONS)

        def owners() -> dict[int, str | None]:
            return {
                p["partition"]: p["owner"]
                for p in status(cs, "redis://127.0.0.1:6379/0", prefix)["partitions"]
            }

        _until(lambda: set(owners().values()) == {w.id for w in workers}, 30, "both workers own partitions")
        api = Api(bases[0], _token(bases[0]))

        # 1. A config made through worker 1's API is copied by its partition's owner within ~1 s.
        api.call("POST", "/api/v1/leaders", {"address": leader_a})
        api.call("POST", "/api/v1/leaders", {"address": leader_b})
        paper = [api.call("POST", "/api/v1/followers", {"name": f"p{i}"})["id"] for i in range(PAPER)]
        body = {"sizing": "FIXED_USDC", "sizing_value": "3"}
        delays = []
        for i, follower in enumerate(paper):
            config = api.call(
                "POST",
                "/api/v1/configs",
                {**body, "follower_id": follower, "leader": [leader_a, leader_b][i % 2]},
            )

            def first_copy(cid: int = config["id"]) -> list[dict[str, Any]]:
                return pg(
                    dsn,
                    f"SELECT min(created_at) AS at FROM copy_trades WHERE config_id = {cid} HAVING count(*) > 0",
                )  # noqa: S608

            at = _until(first_copy, 15, f"a copy of config {config['id']}")[0]["at"]
            delays.append((at - _at(config["created_at"])).total_seconds())

        # 2. The own-wallet follower's breaker opens at its partition's owner; that owner stops.
        eoa = api.call("POST", "/api/v1/followers", {"name": "eoa", "custody": "EOA", "private_key": eoa_key})
        eoa_config = api.call(
            "POST", "/api/v1/configs", {**body, "follower_id": eoa["id"], "leader": leader_a}
        )
        cid = eoa_config["id"]

        def copies(where: str) -> list[dict[str, Any]]:
            return pg(
                dsn,
                "SELECT id, state, reason, created_at FROM copy_trades "  # noqa: S608 - test data
                f"WHERE config_id = {cid} AND side = 'BUY' AND {where} ORDER BY id",  # a SELL: no position
            )

        _until(lambda: copies("state = 'EXECUTED'"), 20, "the own wallet copies")
        admin(urls["admin"], "/faults", {"order_version_mismatch": 4})  # 2 copies refused: breaker open
        _until(lambda: len(copies("state = 'FAILED'")) >= 2, 30, "two refused copies")
        opened = _until(lambda: copies("reason = 'GUARDRAIL_CIRCUIT_BREAKER'"), 20, "the breaker opens")
        opened_at = time.monotonic()
        owner = owners()[partition_of(eoa["id"], PARTITIONS)]
        victim = next(w for w in workers if w.id == owner)
        heir = next(w for w in workers if w is not victim)
        victim.proc.send_signal(signal.SIGTERM)
        assert victim.proc.wait(timeout=60) == 0
        moved_at = datetime.now(UTC)
        _until(lambda: owners()[partition_of(eoa["id"], PARTITIONS)] == heir.id, 15, "the partition moves")
        # the breaker opened with the second refused copy; it stays open until then + the cooldown
        open_until = copies("state = 'FAILED'")[1]["created_at"] + timedelta(seconds=COOLDOWN_S)
        assert moved_at < open_until - timedelta(seconds=3), "the move took longer than the cooldown"
        after = f"created_at > '{moved_at.isoformat()}'"
        refused_after = _until(
            lambda: copies(f"reason = 'GUARDRAIL_CIRCUIT_BREAKER' AND {after}"),
            COOLDOWN_S,
            "the new owner refuses the follower's copies",
        )
        recovered = _until(
            lambda: copies(f"state = 'EXECUTED' AND {after}"),
            COOLDOWN_S + 20,
            "copies again after the cooldown",
        )
        recovered_s = time.monotonic() - opened_at
        in_cooldown = copies(f"{after} AND created_at < '{(open_until - timedelta(seconds=1)).isoformat()}'")

        # 3. A third worker joins; "stop everything" through its API stops both owners within seconds.
        third = _start(hosts, env, tmp_path / "worker-3.log")
        workers.append(third)
        base3 = _ready(third)
        alive = {heir.id, third.id}
        _until(lambda: set(owners().values()) == alive, 30, "the new worker owns partitions")
        by_owner = {w: sorted(u for u in paper if owners()[partition_of(u, PARTITIONS)] == w) for w in alive}

        def everywhere(reason: str, since: datetime) -> Callable[[], bool]:
            def check() -> bool:
                rows = pg(
                    dsn,
                    "SELECT DISTINCT user_id FROM copy_trades "  # noqa: S608 - test data
                    f"WHERE reason = '{reason}' AND created_at > '{since.isoformat()}'",
                )
                users = {int(r["user_id"]) for r in rows}
                return all(users & set(us) for us in by_owner.values() if us)

            return check

        def sent_after(at: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
            """Copies sent (EXECUTED or FAILED) made from STOP_LIMIT_S after `at` (until `until`)."""
            end = "" if until is None else f"AND created_at < '{until.isoformat()}'"
            return pg(
                dsn,
                "SELECT user_id, state, created_at FROM copy_trades WHERE state IN ('EXECUTED', 'FAILED') "  # noqa: S608
                f"AND created_at > '{(at + timedelta(seconds=STOP_LIMIT_S)).isoformat()}' {end}",
            )

        # 3a. The platform switches (`polyhunter switches`): halted, then dry run, then live again.
        cli_env = {**env, **setting_env({"db.url": f"postgresql+asyncpg://127.0.0.1:5432/{db}"})}
        cli_env.update(setting_env({"coord.redis_url": "redis://127.0.0.1:6379/0"}))

        def switch(*flags: str) -> tuple[datetime, datetime]:
            """When the command started and when it returned (it switched in between)."""
            before = datetime.now(UTC)
            out = subprocess.run(  # noqa: S603 - our own CLI
                [*CLI, "switches", *flags], env=cli_env, capture_output=True, check=True, timeout=60
            )
            assert json.loads(out.stdout)["halted"] == ("--halt" in flags), out.stdout
            return before, datetime.now(UTC)

        _, halted_at = switch("--halt")
        _until(everywhere("GUARDRAIL_KILL_SWITCH", halted_at), 30, "every owner halted")
        halt_s = (datetime.now(UTC) - halted_at).total_seconds()
        time.sleep(STOP_LIMIT_S)
        halted_until, dry_at = switch("--resume", "--dry-run")
        _until(everywhere("GUARDRAIL_DRY_RUN", dry_at), 30, "every owner in dry run")
        dry_s = (datetime.now(UTC) - dry_at).total_seconds()
        time.sleep(STOP_LIMIT_S)
        dry_until, live_at = switch("--live")
        _until(lambda: sent_after(live_at - timedelta(seconds=STOP_LIMIT_S)), 30, "copies sent again")
        halted_late, dry_late = sent_after(halted_at, halted_until), sent_after(dry_at, dry_until)

        # 3b. "Stop everything" through the new worker's API.
        stopped = Api(base3, api.token).call("POST", "/api/v1/stop")
        stop_at = datetime.now(UTC)
        assert stopped["configs"] == PAPER + 1
        _until(everywhere("CONFIG_PAUSED", stop_at), 30, "copies skipped CONFIG_PAUSED on every owner")
        late = sent_after(stop_at)
        last_exec = pg(dsn, "SELECT max(created_at) AS at FROM copy_trades WHERE state = 'EXECUTED'")[0]["at"]
        for w in workers:
            if w is not victim:
                assert w.proc.poll() is None, f"a worker died; see {w.log}"
    print(  # noqa: T201 - the test reports what it measured
        f"\nshared state e2e ({hosts.kind}): config -> first copy {min(delays):.2f}-{max(delays):.2f} s "
        f"(median {sorted(delays)[len(delays) // 2]:.2f}, {len(delays)} configs, polling every 10 s); "
        f"breaker: {len(opened)} refused at the first owner, {len(in_cooldown)} at the new owner "
        f"({len(refused_after)} seen first), "
        f"copying again {recovered_s:.1f} s after it opened (cooldown {COOLDOWN_S} s); "
        f"switches: every owner vetoing within {halt_s:.1f} s (halt) / {dry_s:.1f} s (dry run) of the "
        f"command (the next fill of each), nothing sent; "
        f"stop: last executed copy {(last_exec - stop_at).total_seconds():+.2f} s after the stop, "
        f"owners {[len(v) for v in by_owner.values()]} followers each"
    )
    assert max(delays) <= FEED_LIMIT_S, delays
    assert in_cooldown, "no copy of the follower at the new owner during the cooldown"
    assert {(c["state"], c["reason"]) for c in in_cooldown} == {("SKIPPED", "GUARDRAIL_CIRCUIT_BREAKER")}
    assert recovered[0]["created_at"] >= open_until - timedelta(seconds=1)
    assert all(len(v) > 0 for v in by_owner.values()), by_owner
    assert late == [], late
    assert halted_late == [], halted_late
    assert dry_late == [], dry_late
