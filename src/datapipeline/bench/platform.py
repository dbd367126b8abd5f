"""Where the benchmark runs: a private local platform (ZooKeeper, Kafka, MinIO on free loopback
ports in a temp folder) or the running one; and the producer side (bulk and paced)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from datapipeline import kafka_admin
from datapipeline.local.config import PlatformConfig, free_ports, private_root
from datapipeline.local.platform import LocalPlatform

SERVICES = ["zookeeper", "kafka", "minio"]  # no PostgreSQL/Airflow: the benchmark runs Spark directly


@contextmanager
def private_platform(echo: Callable[[str], None], keep: bool = False) -> Iterator[LocalPlatform]:
    root = private_root("dp-bench-")
    plat = LocalPlatform(PlatformConfig(root=root, ports=free_ports()))
    try:
        plat.up(SERVICES, echo=echo)
        yield plat
    finally:
        plat.down(SERVICES, echo=echo)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_platform(echo: Callable[[str], None]) -> Iterator[LocalPlatform]:
    plat = LocalPlatform()
    unhealthy = [s.name for s in plat.status() if s.name in SERVICES and s.state != "healthy"]
    if unhealthy:
        raise RuntimeError(f"{', '.join(unhealthy)} not healthy: run `task local:up` (or drop --use-running)")
    echo(f"using the running platform in {plat.cfg.root}")
    yield plat


def produce_generated(bootstrap: str, topic: str, count: int, seed: int, rate: float | None) -> dict:
    """Generate ``count`` records (seeded) and send them, paced at ``rate`` if given. Picklable
    (runs in a spawned process for the continuous phase, so the Spark driver's Python process and
    the producer do not share a GIL). The rate achieved is measured, not assumed."""
    from datapipeline.events.generator import generate
    from datapipeline.producer import produce

    records = generate(count, seed=seed)
    nbytes = sum(len(r.key or b"") + len(r.value or b"") for r in records)
    res = produce(records, bootstrap, topic, rate=rate, timeout_s=120)
    if not res.ok:
        raise RuntimeError(f"produce: {res.failed} of {res.sent} records failed: {res.errors.most_common(1)}")
    return {
        "records": res.sent,
        "delivered": res.delivered,
        "bytes": nbytes,
        "seconds": res.seconds,
        "target_rate": rate,
        "achieved_rate": res.sent / res.seconds,
        "valid_events": sum(1 for r in records if r.kind == "event"),
    }


def produce_steady(bootstrap: str, topic: str, seconds: float, rate: float, seed: int, chunk_s: float = 60.0) -> dict:
    """Generate and send records at ``rate`` for ``seconds``, one chunk of ``chunk_s`` seconds'
    worth at a time (a 30-minute soak does not fit in memory at once). Each chunk has its own
    seed, orders and event times; a chunk that starts late (its generation took time) is sent
    faster, so the schedule, not each chunk, keeps the average rate. Picklable, like
    :func:`produce_generated`; the same figures."""
    from datapipeline.events.generator import BASE_TIME, GeneratorOptions, generate
    from datapipeline.producer import produce

    total = int(rate * seconds)
    per_chunk = max(1, int(rate * chunk_s))
    figures = {"records": 0, "delivered": 0, "bytes": 0, "valid_events": 0}
    start = time.monotonic()
    for i, first in enumerate(range(0, total, per_chunk)):
        n = min(per_chunk, total - first)
        options = GeneratorOptions(base_time=BASE_TIME + timedelta(seconds=i * chunk_s), first_order=i * 1_000_000)
        records = generate(n, seed=seed * 100_003 + i, options=options)
        due = start + (first + n) / rate  # when this chunk's last record is due
        res = produce(records, bootstrap, topic, rate=n / max(1.0, due - time.monotonic()), timeout_s=120)
        if not res.ok:
            raise RuntimeError(f"produce: {res.failed} of {res.sent} records failed: {res.errors.most_common(1)}")
        figures["records"] += res.sent
        figures["delivered"] += res.delivered
        figures["bytes"] += sum(len(r.key or b"") + len(r.value or b"") for r in records)
        figures["valid_events"] += sum(1 for r in records if r.kind == "event")
    elapsed = time.monotonic() - start
    return {**figures, "seconds": elapsed, "target_rate": rate, "achieved_rate": figures["records"] / elapsed}


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """The benchmark topic, with ``message.timestamp.type=LogAppendTime``: a record's Kafka
    timestamp is the moment the broker appended it (it is produced from then on), so freshness
    does not count time a CPU-starved producer client kept the record in its own buffer."""
    if not kafka_admin.create_topic(bootstrap, topic, partitions, configs={"message.timestamp.type": "LogAppendTime"}):
        raise RuntimeError(f"benchmark topic {topic} exists already: the run needs a fresh topic")
