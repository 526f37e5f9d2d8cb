"""What `polyhunter cluster status` prints and what a worker exports to /metrics.

/metrics of a worker (read at scrape time from the last beat, cluster/worker.py):

polyhunter_cluster_members                      gauge: live members
polyhunter_cluster_partitions_owned             gauge: partitions this worker owns
polyhunter_cluster_ingest_shards_owned          gauge: ingest shards this worker holds (its leaders polled)
polyhunter_cluster_partition_lag{partition}     gauge: entries not yet delivered to the partition (owned ones)
polyhunter_cluster_partition_pending{partition} gauge: delivered, not yet acknowledged (owned ones)
polyhunter_cluster_partition_handled_total{partition}  counter: signals handed on by this worker
polyhunter_cluster_published_total              counter: signals this worker appended to the stream
polyhunter_cluster_publish_duplicates_total     counter: publishes dropped as already in the stream
polyhunter_cluster_leases_lost_total            counter
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from polyhunter.cluster.membership import Membership
from polyhunter.cluster.stream import SignalStream
from polyhunter.cluster.worker import ClusterWorker
from polyhunter.settings import ClusterSettings


class ClusterCollector(Collector):
    def __init__(self, worker: ClusterWorker) -> None:
        self._w = worker

    def collect(self) -> Iterator[Metric]:
        w = self._w
        yield GaugeMetricFamily("polyhunter_cluster_members", "Live cluster members", value=len(w.members))
        yield GaugeMetricFamily(
            "polyhunter_cluster_partitions_owned", "Partitions this worker owns", value=len(w.owned)
        )
        yield GaugeMetricFamily(
            "polyhunter_cluster_ingest_shards_owned",
            "Ingest shards this worker holds (the leaders its per-leader sources follow)",
            value=len(w.shards.owned),
        )
        lag = GaugeMetricFamily(
            "polyhunter_cluster_partition_lag",
            "Signal stream entries not yet delivered to the partition",
            labels=["partition"],
        )
        pending = GaugeMetricFamily(
            "polyhunter_cluster_partition_pending",
            "Signal stream entries delivered to the partition's owner and not yet acknowledged",
            labels=["partition"],
        )
        handled = CounterMetricFamily(
            "polyhunter_cluster_partition_handled",
            "Signals this worker handed to the engine for the partition",
            labels=["partition"],
        )
        for p, consumer in sorted(w.consumers().items()):
            pos = w.positions.get(p)
            if pos is not None:
                lag.add_metric([str(p)], float(pos.lag if pos.lag is not None else -1))
                pending.add_metric([str(p)], float(pos.pending))
            handled.add_metric([str(p)], float(consumer.stats.handled))
        yield lag
        yield pending
        yield handled
        c = w.counters
        yield CounterMetricFamily(
            "polyhunter_cluster_published", "Signals appended to the stream by this worker", value=c.published
        )
        yield CounterMetricFamily(
            "polyhunter_cluster_publish_duplicates",
            "Publishes dropped: the signal key was in the stream already",
            value=c.duplicates,
        )
        yield CounterMetricFamily(
            "polyhunter_cluster_leases_lost", "Partition leases lost", value=c.leases_lost
        )
        yield CounterMetricFamily(
            "polyhunter_cluster_ingest_shard_leases_lost", "Ingest shard leases lost", value=w.shards.lost
        )


def export_cluster(registry: CollectorRegistry, worker: ClusterWorker) -> None:
    registry.register(ClusterCollector(worker))


async def cluster_status(redis: Redis, prefix: str, settings: ClusterSettings) -> dict[str, Any]:
    """Members, every partition's owner and position, every ingest shard's owner, the stream's length."""
    membership = Membership(
        redis, prefix, member_ttl_ms=settings.member_ttl_ms, lease_ttl_ms=settings.lease_ttl_ms
    )
    stream = SignalStream(redis, prefix, settings.stream, maxlen=settings.stream_maxlen, dedup_ttl_ms=1000)
    members = await membership.live()
    owners = await membership.owners(settings.partitions)
    shard_owners = await membership.shard_leases.owners(settings.ingest_shards)
    positions = await stream.positions()
    partitions = []
    for p in range(settings.partitions):
        pos = positions.get(p)
        partitions.append(
            {
                "partition": p,
                "owner": owners.get(p),
                "lag": None if pos is None else pos.lag,
                "pending": None if pos is None else pos.pending,
                "last_delivered": None if pos is None else pos.last_delivered,
            }
        )
    return {
        "at": time.time(),
        "stream": stream.key,
        "stream_length": await stream.length() if positions else 0,
        "members": [
            {
                "id": m.id,
                "roles": list(m.roles),
                "host": m.host,
                "partitions": sum(1 for o in owners.values() if o == m.id),
                "ingest_shards": sum(1 for o in shard_owners.values() if o == m.id),
            }
            for m in members
        ],
        "partitions": partitions,
        "unowned": [p for p, o in owners.items() if o is None],
        "ingest_shards": [{"shard": n, "owner": o} for n, o in sorted(shard_owners.items())],
        "ingest_unowned": [n for n, o in shard_owners.items() if o is None],
    }


def status_text(status: dict[str, Any]) -> str:
    lines = [f"stream {status['stream']}: {status['stream_length']} entries"]
    lines.append(f"members ({len(status['members'])}):")
    for m in status["members"]:
        lines.append(
            f"  {m['id']:<40} {','.join(m['roles']):<16} {m['partitions']} partitions, "
            f"{m.get('ingest_shards', 0)} ingest shards"
        )
    lines.append("partitions:")
    lines.append(f"  {'#':>4}  {'owner':<40} {'lag':>8} {'pending':>8}")
    for p in status["partitions"]:
        lag = "-" if p["lag"] is None else str(p["lag"])
        pending = "-" if p["pending"] is None else str(p["pending"])
        lines.append(f"  {p['partition']:>4}  {p['owner'] or '(none)':<40} {lag:>8} {pending:>8}")
    lines.append("ingest shards (leaders' polling):")
    for shard in status.get("ingest_shards", []):
        lines.append(f"  {shard['shard']:>4}  {shard['owner'] or '(none)'}")
    return "\n".join(lines)
