"""Fault tooling shared by the fault tests: watch a lake's Delta logs and checkpoint on MinIO,
start/kill the ingestion job, crash and restart platform services, and reconcile every table
against what the producer sent (counting lost and duplicated rows instead of only asserting)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from datapipeline.events.generator import Record
from datapipeline.lake import checkpoints, delta_rs
from datapipeline.lake.layout import QUERIES, Lake
from datapipeline.lake.s3 import S3Settings
from datapipeline.local.service import Service, ServiceError
from datapipeline.local.stream import StreamingIngest
from datapipeline.paths import PROJECT_ROOT
from reconcile import (
    GOLD_SQL,
    ORDERS_SQL,
    delta_rs_count,
    delta_rs_rows,
    expected_gold,
    expected_orders,
    expected_reasons,
    gold_as_tuples,
    orders_as_tuples,
    spark_rows,
    unique_events,
)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.5) -> float:
    """Poll ``check`` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(every_s)
    return time.monotonic()


class LakeWatcher:
    """Reads Delta log and checkpoint progress straight from MinIO (no Spark)."""

    def __init__(self, lake: Lake, s3: S3Settings):
        self.lake = lake
        self.s3 = s3

    def _log(self, table: str) -> str:
        return f"{self.lake.table(table)}/_delta_log"

    def version(self, table: str) -> int:
        names = delta_rs.list_names(self._log(table), self.s3)
        return max((int(n.removesuffix(".json")) for n in names if n.removesuffix(".json").isdigit()), default=-1)

    def batches(self, query: str) -> tuple[int, int]:
        """(last planned batch id, last committed batch id) of one of the job's queries."""
        return checkpoints.batches(self.lake.checkpoint(), query, self.s3)

    def txn_version(self, table: str) -> int:
        """Delta ``txnVersion`` (= batch id) of the table's latest commit; -1 when it has none."""
        version = self.version(table)
        if version < 0:
            return -1
        text = delta_rs.read_text(f"{self._log(table)}/{version:020d}.json", self.s3)
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
        return max((a["txn"]["version"] for a in actions if "txn" in a), default=-1)

    def settled(self) -> bool:
        """Both queries have committed every batch they planned, and refine has read bronze to
        its latest version."""
        bronze, refine = self.batches("bronze"), self.batches("refine")
        if bronze[0] != bronze[1] or refine[0] != refine[1]:
            return False
        return checkpoints.refined_bronze_version(self.lake.checkpoint(), self.s3) == self.version("bronze")


# ---- the ingestion job as a process ---------------------------------------------------------


def start_job(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    """The real ``spark_apps/ingest.py`` in its own process group (so kill -9 takes the JVM too)."""
    cmd = [sys.executable, str(PROJECT_ROOT / "spark_apps" / "ingest.py"), *args]
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_ROOT
        )


def tail(log: Path, n: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:]) if log.is_file() else "(no log)"


def lake_streams(platform, lake, processing_time: str = "2 seconds") -> list[StreamingIngest]:
    """The supervised continuous apps (``ingest-stream-bronze`` and ``ingest-stream-refine``,
    spark-submit of the SparkApplication spec with the processingTime trigger and one query
    each), pointed at this test's topic and lake prefix."""

    def env() -> dict[str, str]:
        return {**platform.client_env(), **lake.env(), "DP_PROCESSING_TIME": processing_time}

    return [StreamingIngest(platform.cfg, platform.secrets, env, query) for query in QUERIES]


# ---- services -------------------------------------------------------------------------------


def start_until_healthy(service: Service, timeout_s: float = 120) -> int:
    """Start ``service`` like a pod restart policy would: again after each failed start, until
    healthy. Returns the number of start attempts (a Kafka broker restarted within ZooKeeper's
    session timeout can find its old registration still there and exit)."""
    deadline = time.monotonic() + timeout_s
    attempts = 0
    while True:
        attempts += 1
        try:
            service.start()
            return attempts
        except ServiceError as exc:
            if time.monotonic() > deadline:
                raise ServiceError(f"{service.name}: not back after {attempts} start attempts: {exc}") from exc
            time.sleep(2)


def heal(services: list[Service]) -> list[str]:
    """Restart every service that is not healthy (in the given order); returns their names."""
    restarted = []
    for service in services:
        if service.process() is not None and service.healthy():
            continue
        with contextlib.suppress(ServiceError):
            service.stop()  # a hung (unhealthy) process
        start_until_healthy(service)
        restarted.append(service.name)
    return restarted


# ---- reconciliation -------------------------------------------------------------------------


def relabel(records: list[Record], prefix: str) -> list[Record]:
    """The same records with order ids ``ord-…`` renamed ``<prefix>…`` (same length), so a test
    sharing a lake with other data owns its silver_orders rows."""
    assert len(prefix) == 4, "keep the byte length (truncated records stay truncated at the same place)"

    def swap(raw: bytes | None) -> bytes | None:
        return raw.replace(b'"ord-', b'"' + prefix.encode()) if raw is not None else None

    out = []
    for r in records:
        event = r.event
        if event is not None and str(event.get("order_id", "")).startswith("ord-"):
            event = {**event, "order_id": prefix + event["order_id"].removeprefix("ord-")}
        key = prefix.encode() + r.key.removeprefix(b"ord-") if r.key and r.key.startswith(b"ord-") else r.key
        out.append(replace(r, key=key, value=swap(r.value), event=event))
    return out


@dataclass
class Reconciliation:
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)

    def count(self, table: str, expected: int, rows: int, distinct: int, matched: int | None = None) -> None:
        """``rows`` read, ``distinct`` keys among them, ``matched`` of those expected (default: all
        distinct keys up to ``expected``)."""
        matched = min(distinct, expected) if matched is None else matched
        lost, dup, extra = expected - matched, rows - distinct, distinct - matched
        self.lost += lost
        self.duplicated += dup
        if lost or dup or extra:
            self.problems.append(f"{table}: {lost} lost, {dup} duplicated, {extra} unexpected")

    def same(self, table: str, got: dict, expected: dict) -> None:
        if got != expected:
            wrong = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            self.problems.append(f"{table}: {len(wrong)} keys differ, e.g. {wrong[:3]}")


@dataclass(frozen=True)
class Slice:
    """The part of a shared lake that one test wrote: Kafka offsets [start, end) per partition of
    ``topic``, order ids starting with ``order_prefix``."""

    topic: str
    offsets: dict[int, tuple[int, int]]
    order_prefix: str

    def where(self) -> str:
        ranges = " OR ".join(
            f"(`partition` = {p} AND `offset` >= {s} AND `offset` < {e})" for p, (s, e) in self.offsets.items()
        )
        return f"topic = '{self.topic}' AND ({ranges or 'false'})"


def reconcile_lake(spark, lake: Lake, s3: S3Settings, records: list[Record], part: Slice | None = None):
    """Every table against the records the producer delivered: bronze and quarantine by
    (partition, offset), silver_events by event_id, silver_orders and gold by value. With
    ``part`` only that slice of a shared lake is checked; without, whole tables (and delta-rs,
    the independent reader, must agree on the counts)."""
    tables = lake.tables
    out = Reconciliation()
    where = part.where() if part else "true"

    def coords(table: str) -> tuple[int, int]:
        df = spark.read.format("delta").load(tables[table]).where(where)
        return df.count(), df.select("partition", "offset").distinct().count()

    rows, distinct = coords("bronze")
    out.count("bronze", len(records), rows, distinct)
    quarantined = spark.read.format("delta").load(tables["quarantine"]).where(where).select("reason")
    reasons = Counter(r.reason for r in quarantined.collect())
    want_reasons = expected_reasons(records)
    rows, distinct = coords("quarantine")
    out.count("quarantine", sum(want_reasons.values()), rows, distinct)
    out.same("quarantine reasons", dict(reasons), dict(want_reasons))

    want_ids = set(unique_events(records))
    ids = [r.event_id for r in spark.read.format("delta").load(tables["silver_events"]).select("event_id").collect()]
    if part is not None:
        ids = [i for i in ids if i in want_ids]
    found = set(ids)
    out.count("silver_events", len(want_ids), len(ids), len(found), matched=len(found & want_ids))

    orders = orders_as_tuples(spark_rows(spark, tables["silver_orders"], ORDERS_SQL))
    gold = gold_as_tuples(delta_rs_rows(tables["gold_revenue"], s3, GOLD_SQL))
    want_gold = expected_gold(records)
    if part is not None:
        orders = {k: v for k, v in orders.items() if k.startswith(part.order_prefix)}
        minutes = {m for m, _ in want_gold}
        gold = {k: v for k, v in gold.items() if k[0] in minutes}
    out.same("silver_orders", orders, expected_orders(records))
    out.same("gold_revenue", gold, want_gold)
    if part is None:
        for table, want in (
            ("bronze", len(records)),
            ("quarantine", sum(want_reasons.values())),
            ("silver_events", len(want_ids)),
        ):
            if (n := delta_rs_count(tables[table], s3)) != want:
                out.problems.append(f"{table}: delta-rs counts {n}, expected {want}")
    return out


def job_env(lake) -> dict[str, str]:
    return {**os.environ, **lake.env(), "PYTHONUNBUFFERED": "1"}
